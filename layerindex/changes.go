package layerindex

import (
	"fmt"
	"sort"
)

// ChangeKind says what a layer did to a path.
type ChangeKind string

// Change kinds.
const (
	Added    ChangeKind = "added"    // the path did not exist below
	Modified ChangeKind = "modified" // the layer wrote over a path that existed below
	Deleted  ChangeKind = "deleted"  // a whiteout removed the path (and all below it)
	Opaque   ChangeKind = "opaque"   // an opaque marker hid everything below the directory
)

// Change is one thing a layer did to the file system below it.
type Change struct {
	Kind ChangeKind
	Path string
	// File is the layer's own entry: what it wrote (Added, Modified) or its
	// whiteout or opaque record.
	File File
	// Lower is what the layers below had at Path (Modified, Deleted,
	// Opaque); its Entry is nil when they had nothing there.
	Lower File
}

// Changes lists what each of layers [0, upTo) changed, in path order; the
// layers must be loaded. A path a layer writes twice counts once (the last
// write), and a whiteout and a new entry at the same path are the entry:
// added, or modified when the layers below had the path.
func (im *Image) Changes(upTo int) ([][]Change, error) {
	s := newState()
	out := make([][]Change, upTo)
	for i := 0; i < upTo; i++ {
		ix := im.Layer(i)
		if ix == nil {
			return nil, fmt.Errorf("layer %d is not loaded", i)
		}
		out[i] = s.changes(ix, i)
		s.apply(ix, i)
	}
	return out, nil
}

func (s *state) changes(ix *Index, layer int) []Change {
	byPath := map[string]Change{}
	// Whiteouts first: a layer's deletions act on the layers below it
	// wherever they sit in its tar, and its own entries then win.
	for _, deletions := range []bool{true, false} {
		for j := range ix.Entries {
			e := &ix.Entries[j]
			if (e.Whiteout || e.Opaque) != deletions {
				continue
			}
			lower, _ := s.lookup(e.Path)
			c := Change{Path: e.Path, File: File{Entry: e, Layer: layer, Ord: j}, Lower: lower}
			key := e.Path
			switch {
			case e.Whiteout:
				c.Kind = Deleted
			case e.Opaque:
				// Usually listed beside the directory's own entry; both
				// are worth showing.
				c.Kind, key = Opaque, e.Path+"\x00opaque"
			case lower.Entry != nil:
				c.Kind = Modified
			default:
				c.Kind = Added
			}
			byPath[key] = c
		}
	}
	out := make([]Change, 0, len(byPath))
	for _, c := range byPath {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}
