package explore

import (
	"sort"
	"strings"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// The path table holds every path any layer names, once, with what each
// layer did to it (events). The tree as of layer i is computed from it in
// one pass over the nodes (state.go), never by copying a tree per layer as
// dive does: memory grows with the number of paths and entries, never with
// layer bytes, and a layer switch costs one walk.

type nodeID = int32

// Event kinds.
const (
	evWrite  uint8 = iota // the layer put an entry at the path
	evDelete              // a whiteout removed the path (and all below it)
	evOpaque              // an opaque marker hid what lower layers had below the directory
)

// event is one thing one layer did at one path: about 32 bytes.
type event struct {
	layer uint16
	kind  uint8
	typ   layers.Type
	mode  uint32
	uid   int32
	gid   int32
	size  int64
	// ord is the entry's position in its layer's index (for reading the
	// content back through layerindex).
	ord int32
}

type node struct {
	name   string
	parent nodeID
	kids   []nodeID
	ev     []event
}

// table is the path table. Node 0 is the root ("").
type table struct {
	nodes []node
	// ids finds a node by path while layers are added; dropped (nil) once
	// the last layer is in, lookups then walk the tree.
	ids map[string]nodeID
	// links holds symlink and hardlink targets by linkKey(node, layer).
	links map[int64]string
	// dirty marks directories whose kids are not sorted by name.
	dirty  map[nodeID]bool
	layers int // how many layers have been added
}

func newTable() *table {
	return &table{nodes: []node{{parent: -1}}, ids: map[string]nodeID{"": 0},
		links: map[int64]string{}, dirty: map[nodeID]bool{}}
}

func linkKey(id nodeID, layer uint16) int64 { return int64(id)<<16 | int64(layer) }

// batch is one layer's entries, decoded off the UI goroutine.
type batch struct {
	layer int
	recs  []rec
}

type rec struct {
	path string
	link string
	ev   event
}

// batchOf decodes a (lean) layer index into a batch.
func batchOf(layer int, ix *layerindex.Index) (*batch, error) {
	b := &batch{layer: layer, recs: make([]rec, 0, ix.Len())}
	err := ix.Each(func(j int, e *layerindex.Entry) bool {
		r := rec{path: e.Path, ev: event{layer: uint16(layer), typ: e.Type, mode: e.Mode,
			uid: int32(e.UID), gid: int32(e.GID), size: e.Size, ord: int32(j)}}
		switch {
		case e.Whiteout:
			r.ev.kind = evDelete
		case e.Opaque:
			r.ev.kind = evOpaque
		case e.Type == layers.TypeSymlink || e.Type == layers.TypeHardlink:
			r.link = e.Link
		}
		b.recs = append(b.recs, r)
		return true
	})
	return b, err
}

// add puts one layer's batch into the table; layers come in order.
func (t *table) add(b *batch) {
	for i := range b.recs {
		r := &b.recs[i]
		if r.path == "" {
			continue
		}
		id := t.intern(r.path)
		n := &t.nodes[id]
		// A path a layer names twice: the later entry of a kind wins; a
		// whiteout and an entry at one path are both kept (state.go lets
		// the layer's own entry win, as overlay applies them).
		replaced := false
		for k := len(n.ev) - 1; k >= 0 && n.ev[k].layer == r.ev.layer; k-- {
			if n.ev[k].kind == r.ev.kind {
				n.ev[k], replaced = r.ev, true
				break
			}
		}
		if !replaced {
			n.ev = append(n.ev, r.ev)
		}
		if r.link != "" {
			t.links[linkKey(id, r.ev.layer)] = r.link
		}
	}
	for id := range t.dirty {
		kids := t.nodes[id].kids
		sort.Slice(kids, func(a, b int) bool { return t.nodes[kids[a]].name < t.nodes[kids[b]].name })
	}
	clear(t.dirty)
	t.layers = b.layer + 1
}

// intern returns the node of a path, making it and its parents.
func (t *table) intern(p string) nodeID {
	if id, ok := t.ids[p]; ok {
		return id
	}
	parent := nodeID(0)
	name := p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		parent, name = t.intern(p[:i]), p[i+1:]
	}
	id := nodeID(len(t.nodes))
	t.nodes = append(t.nodes, node{name: name, parent: parent})
	t.nodes[parent].kids = append(t.nodes[parent].kids, id)
	t.dirty[parent] = true
	t.ids[p] = id
	return id
}

// done drops what only loading needed.
func (t *table) done() { t.ids, t.dirty = nil, nil }

// path rebuilds a node's path.
func (t *table) path(id nodeID) string {
	if id <= 0 {
		return ""
	}
	var parts []string
	for ; id > 0; id = t.nodes[id].parent {
		parts = append(parts, t.nodes[id].name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// lookup finds a path's node (-1 when no layer names it).
func (t *table) lookup(p string) nodeID {
	p = layers.CleanPath(p)
	if t.ids != nil {
		if id, ok := t.ids[p]; ok {
			return id
		}
		return -1
	}
	id := nodeID(0)
	for _, name := range strings.Split(p, "/") {
		if name == "" {
			continue
		}
		kids := t.nodes[id].kids
		k := sort.Search(len(kids), func(i int) bool { return t.nodes[kids[i]].name >= name })
		if k == len(kids) || t.nodes[kids[k]].name != name {
			return -1
		}
		id = kids[k]
	}
	return id
}
