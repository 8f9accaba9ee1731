package explore

import (
	"math"

	"github.com/strata-tool/strata/layers"
)

// Statuses of a path in the tree as of a layer, against the tree as of a
// base layer below it: i-1 in dive's per-layer view (what layer i itself
// changed), the first layer in its "compare all" view (what every layer
// above the first changed).
const (
	stNone     uint8 = iota // not in the tree at this layer nor below
	stUnmod                 // there, and this layer did not touch it
	stAdded                 // a layer above the base put it where nothing was
	stModified              // a layer above the base wrote over what was there
	stRemoved               // there at the base, gone after this layer
)

// marks are the letters that say a status without colour.
var marks = [...]string{stNone: " ", stUnmod: " ", stAdded: "A", stModified: "M", stRemoved: "R"}

// state is the tree as of one layer: per node its status, the event shown
// (the entry visible now; for a removed path the one that was there), its
// size (directories: the regular files below) and which statuses its
// subtree holds (for the show/hide toggles).
type state struct {
	layer int
	// base is the layer compared against (-1: the empty tree).
	base int
	st   []uint8
	cur  []int32
	size []int64
	mask []uint8
	// total is the size of everything in the tree at this layer.
	total int64
}

const hiddenAll = math.MaxInt32

// compute works out the tree as of layer i against the tree as of layer
// base (< i; -1 for none) in one walk.
func (t *table) compute(i, base int) *state {
	n := len(t.nodes)
	s := &state{layer: i, base: base, st: make([]uint8, n), cur: make([]int32, n), size: make([]int64, n), mask: make([]uint8, n)}
	t.walkState(s, 0, -1, -1)
	s.st[0], s.cur[0] = stUnmod, -1
	s.total = s.size[0]
	return s
}

// at is what a node is at layer l given that its ancestors hide entries of
// layers below cut: the visible write (-1 none) and the cut for its
// children. Within a layer a whiteout acts on the layers below only, so
// the layer's own entry at the path (and below it) stays.
func (nd *node) at(l, cut int) (w int32, kidCut int) {
	w, kidCut = -1, cut
	deleted := -1
	for k := range nd.ev {
		e := &nd.ev[k]
		el := int(e.layer)
		if el > l {
			break
		}
		switch e.kind {
		case evWrite:
			w = int32(k)
			if e.typ != layers.TypeDir {
				kidCut = max(kidCut, el+1)
			}
		case evDelete:
			deleted = max(deleted, el)
			kidCut = max(kidCut, el)
		case evOpaque:
			kidCut = max(kidCut, el)
		}
	}
	if w >= 0 {
		if el := int(nd.ev[w].layer); el < cut || el < deleted {
			w = -1
		} else if nd.ev[w].typ != layers.TypeDir {
			// Paths below a file or symlink: no file system holds them.
			kidCut = hiddenAll
		}
	}
	return w, kidCut
}

// walkState fills s for the subtree at id; cutNow/cutPrev hide entries of
// layers below them at layer s.layer and s.base. It reports whether the
// node is there at each.
func (t *table) walkState(s *state, id nodeID, cutNow, cutPrev int) (now, prev bool) {
	nd := &t.nodes[id]
	wN, kcN := -1, cutNow
	wP, kcP := -1, cutPrev
	if id != 0 {
		var w32 int32
		w32, kcN = nd.at(s.layer, cutNow)
		wN = int(w32)
		if s.base >= 0 {
			w32, kcP = nd.at(s.base, cutPrev)
			wP = int(w32)
		} else {
			kcP = hiddenAll
		}
	}
	var kidsNow, kidsPrev bool
	var sizeNow, sizeGone int64
	var mask uint8
	for _, k := range nd.kids {
		kn, kp := t.walkState(s, k, kcN, kcP)
		kidsNow, kidsPrev = kidsNow || kn, kidsPrev || kp
		mask |= s.mask[k]
		switch {
		case kn:
			sizeNow += s.size[k]
		case kp:
			sizeGone += s.size[k]
		}
	}
	now = wN >= 0 || kidsNow
	prev = wP >= 0 || kidsPrev
	if id == 0 {
		now, prev = true, true
	}
	st, cur := stNone, int32(-1)
	switch {
	case now && wN >= 0 && int(nd.ev[wN].layer) > s.base:
		st, cur = stAdded, int32(wN)
		if prev {
			st = stModified
		}
	case now:
		st, cur = stUnmod, int32(wN)
		if !prev {
			st = stAdded
		}
	case prev:
		st, cur = stRemoved, int32(wP)
		sizeNow = sizeGone
	}
	if cur >= 0 && nd.ev[cur].typ == layers.TypeFile {
		sizeNow += nd.ev[cur].size
	}
	s.st[id], s.cur[id], s.size[id] = st, cur, sizeNow
	s.mask[id] = mask | 1<<st
	return now, prev
}

// entry is the event a node shows at this state (nil for an implied
// directory, or a path not there).
func (s *state) entry(t *table, id nodeID) *event {
	if c := s.cur[id]; c >= 0 {
		return &t.nodes[id].ev[c]
	}
	return nil
}

// isDir reports whether the node shows as a directory: a directory entry,
// or implied by paths below it.
func (s *state) isDir(t *table, id nodeID) bool {
	if id == 0 {
		return true
	}
	if e := s.entry(t, id); e != nil {
		return e.typ == layers.TypeDir
	}
	return len(t.nodes[id].kids) > 0
}
