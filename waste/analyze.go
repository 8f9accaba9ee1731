// Package waste measures the bytes an image's layers ship that its final
// file system does not show, and why: the formula dive should have used.
// Per path, every regular-file byte shipped in any layer minus what stays
// visible once the layers are merged (overlay rules: whiteouts delete,
// opaque directories hide, later layers win). A file written in one step
// and rewritten in another counts once as waste — the hidden copy — never
// twice (dive#684).
//
// Each wasted copy has a cause (deleted later, overwritten, re-shipped by a
// metadata-only change such as chmod/chown, replaced by a directory or
// symlink, listed twice in one layer), the step that shipped it and the
// step that made it waste, and a concrete fix. Separately the report lists
// what is visible but avoidable: the same content at several paths, and
// package-manager caches left in the image.
//
// The analysis is pure over layer indexes (package layerindex): it never
// reads layer content. Layers are added bottom-up one at a time, so a
// caller may drop each index once it is added; what is kept is one small
// record per path of the merged file system.
package waste

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Cause says why shipped bytes are not visible in the final file system.
type Cause string

// Causes of waste.
const (
	// Deleted: a later step removed the path (rm: a whiteout at the path
	// or a directory above it, or an opaque directory above it).
	Deleted Cause = "deleted"
	// Overwritten: a later step wrote other content at the path.
	Overwritten Cause = "overwritten"
	// MetadataOnly: a later step re-shipped the same content to change
	// only its mode, owner or times (chmod, chown, touch): the layer holds
	// a whole new copy of the file.
	MetadataOnly Cause = "metadata-only"
	// Replaced: a later step put a directory, symlink or other non-file at
	// the path, or a non-directory at a directory above it.
	Replaced Cause = "replaced"
	// DuplicateEntry: the same layer lists the path twice; only the last
	// entry is visible.
	DuplicateEntry Cause = "duplicate-entry"
)

// Layer is one layer as the analysis needs it.
type Layer struct {
	Index *layerindex.Index
	// Step is the 1-based history step that made the layer (0: none
	// known); Instruction is its text as `strata layers` shows it.
	Step        int
	Instruction string
	// Compressed is the stored blob size (-1 unknown): with the index's
	// TarSize it gives the layer's compression ratio, which estimates the
	// compressed size of the bytes it wastes.
	Compressed int64
}

// node is what is kept per path of the merged file system: 56 bytes, so
// memory follows the number of paths and stays small.
type node struct {
	size  int64
	fp    uint64 // the entry's fingerprint (0: none)
	layer int32
	typ   layers.Type
	sha   bool
	// digest is the sha256, when the index has it (full indexes and TOCs).
	digest [32]byte
}

// sameContent compares by sha256 where both nodes have it, else by
// fingerprint (see layers.SameContent).
func sameContent(x, y *node) bool {
	switch {
	case x.sha && y.sha:
		return x.digest == y.digest
	case x.fp != 0 && y.fp != 0:
		return x.fp == y.fp
	}
	return false
}

// Analyzer merges layers one at a time, recording every copy they hide.
// Add layers bottom-up, then call Report.
type Analyzer struct {
	live  map[string]int32
	nodes slab
	free  []int32
	// links holds the target of every live hardlink node.
	links map[int32]string

	info       []layerInfo
	agg        aggregates
	orphanRisk bool
	// linkable: hidden copies that a hardlink of their own layer may still
	// keep visible (the hardlink shares their bytes); resolved in Report.
	linkTargets []map[string]bool
	linkable    map[copyKey]hidden
}

type layerInfo struct {
	step        int
	instruction string
	ratio       float64
	shipped     int64
	files       int
}

type copyKey struct {
	layer int32
	path  string
}

// hidden is one wasted copy, as counted into the aggregates.
type hidden struct {
	size    int64
	shipped int32
	by      int32
	cause   Cause
	key     string
	cache   string
}

// NewAnalyzer starts an empty stack.
func NewAnalyzer() *Analyzer {
	return &Analyzer{live: map[string]int32{}, links: map[int32]string{}, linkable: map[copyKey]hidden{},
		agg: newAggregates()}
}

// Add puts the next layer on top, in one pass over its entries (a lean
// index is decoded once). A layer's whiteouts and opaque markers act on
// the layers below it only, wherever they sit in its tar (as an overlay
// mount applies them), so they are applied after its entries, to what the
// layers below left; the layer's own entries are never hidden by them.
func (a *Analyzer) Add(l Layer) error {
	i := int32(len(a.info))
	li := layerInfo{step: l.Step, instruction: l.Instruction, ratio: 1}
	if l.Compressed > 0 && l.Index.TarSize > 0 {
		li.ratio = float64(l.Compressed) / float64(l.Index.TarSize)
	}
	a.info = append(a.info, li)
	targets := map[string]bool{}
	a.linkTargets = append(a.linkTargets, targets)
	var wh, op, repl map[string]bool
	err := l.Index.Each(func(_ int, e *layerindex.Entry) bool {
		switch {
		case e.Whiteout:
			wh = addTo(wh, e.Path)
		case e.Opaque:
			op = addTo(op, e.Path)
		default:
			if e.Type == layers.TypeHardlink {
				targets[e.Link] = true
			}
			if id, ok := a.live[e.Path]; ok && e.Type != layers.TypeDir && a.nodes.at(id).typ == layers.TypeDir {
				if a.nodes.at(id).layer < i {
					repl = addTo(repl, e.Path)
				}
				// The layer's own paths below it, if any, are now
				// unreachable: Report looks for them.
				a.orphanRisk = true
			}
			a.write(i, e)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("layer %d: %w", i, err)
	}
	if wh != nil || op != nil || repl != nil {
		a.applyDeletions(i, wh, op, repl)
	}
	return nil
}

// applyDeletions hides what the layer's whiteouts, opaque markers and
// non-directories over directories remove from the layers below, in one
// pass over the merged paths however many deletions the layer holds.
func (a *Analyzer) applyDeletions(i int32, wh, op, repl map[string]bool) {
	for p, id := range a.live {
		if a.nodes.at(id).layer >= i {
			continue
		}
		key, cause, ok := hiddenBy(p, wh, op, repl)
		if !ok {
			continue
		}
		a.hide(id, p, key, cause, i)
		a.drop(p, id)
	}
}

func addTo(m map[string]bool, p string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[p] = true
	return m
}

// hiddenBy says whether p goes, and which path's change removes it: a
// whiteout at p or above, an opaque directory strictly above, a
// non-directory put over a directory strictly above (the directory
// itself is simply written over).
func hiddenBy(p string, wh, op, repl map[string]bool) (string, Cause, bool) {
	if wh[p] {
		return p, Deleted, true
	}
	for q := layers.Parent(p); q != ""; q = layers.Parent(q) {
		switch {
		case wh[q], op[q]:
			return q, Deleted, true
		case repl[q]:
			return q, Replaced, true
		}
	}
	if op[""] {
		return "", Deleted, true
	}
	return "", "", false
}

// write applies one entry: what was at its path is hidden (a file copy
// becomes waste), and the entry becomes the path's live node.
func (a *Analyzer) write(i int32, e *layerindex.Entry) {
	n := nodeOf(i, e)
	if id, ok := a.live[e.Path]; ok {
		old := *a.nodes.at(id)
		if old.typ == layers.TypeFile {
			a.hide(id, e.Path, e.Path, classify(&old, &n), i)
		}
		delete(a.links, id)
		*a.nodes.at(id) = n
		if n.typ == layers.TypeHardlink {
			a.links[id] = e.Link
		}
	} else {
		id := a.alloc(n)
		a.live[e.Path] = id
		if n.typ == layers.TypeHardlink {
			a.links[id] = e.Link
		}
	}
	if n.typ == layers.TypeFile {
		a.info[i].shipped += n.size
		a.info[i].files++
	}
	if !a.orphanRisk {
		a.orphanRisk = a.belowNonDir(e.Path)
	}
}

// belowNonDir reports whether the nearest listed ancestor of p is not a
// directory: then p may be unreachable, and Report checks every path.
func (a *Analyzer) belowNonDir(p string) bool {
	for q := layers.Parent(p); q != ""; q = layers.Parent(q) {
		if id, ok := a.live[q]; ok {
			return a.nodes.at(id).typ != layers.TypeDir
		}
	}
	return false
}

func nodeOf(i int32, e *layerindex.Entry) node {
	n := node{size: e.Size, layer: i, typ: e.Type, fp: e.Fingerprint}
	if e.Type != layers.TypeFile {
		n.size = 0
	}
	if h, ok := strings.CutPrefix(e.Digest, "sha256:"); ok && len(h) == 64 {
		if _, err := hex.Decode(n.digest[:], []byte(h)); err == nil {
			n.sha = true
		}
	}
	return n
}

// classify says why writing n over the file old wastes old.
func classify(old, n *node) Cause {
	switch {
	case old.layer == n.layer:
		return DuplicateEntry
	case n.typ != layers.TypeFile:
		return Replaced
	case old.size == n.size && sameContent(old, n):
		return MetadataOnly
	}
	return Overwritten
}

func (a *Analyzer) alloc(n node) int32 {
	if k := len(a.free); k > 0 {
		id := a.free[k-1]
		a.free = a.free[:k-1]
		*a.nodes.at(id) = n
		return id
	}
	return a.nodes.add(n)
}

// slab holds nodes in fixed chunks: growing never copies (nor briefly
// doubles) what is there.
type slab struct {
	chunks [][]node
	n      int32
}

const slabChunk = 4096

func (s *slab) at(id int32) *node { return &s.chunks[id/slabChunk][id%slabChunk] }

func (s *slab) add(n node) int32 {
	if int(s.n)%slabChunk == 0 {
		s.chunks = append(s.chunks, make([]node, slabChunk))
	}
	id := s.n
	s.n++
	*s.at(id) = n
	return id
}

func (a *Analyzer) drop(p string, id int32) {
	delete(a.live, p)
	delete(a.links, id)
	a.free = append(a.free, id)
}

// hide records the file copy at node id, at path p, as waste caused by
// layer by; key is the path whose change hid it (p, or the directory a
// whiteout removed).
func (a *Analyzer) hide(id int32, p, key string, cause Cause, by int32) {
	n := a.nodes.at(id)
	if n.typ != layers.TypeFile {
		return
	}
	h := hidden{size: n.size, shipped: n.layer, by: by, cause: cause, key: key, cache: cacheKind(p)}
	a.agg.add(a, h, +1)
	if a.linkTargets[n.layer][p] {
		a.linkable[copyKey{n.layer, p}] = h
	}
}
