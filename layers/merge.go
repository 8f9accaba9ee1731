package layers

import (
	"io"
	"sort"
)

// Merged is a stack of layers applied in order, overlay-style. Over an
// empty lower it is simply the final file system (Entries). Over a lower it
// does not know — the shared base of two images, which a diff never reads —
// it is the set of changes the stack makes to that lower: what it wrote
// (Lookup finds it) and which lower paths it hides (Hidden).
type Merged struct {
	entries map[string]*Entry
	// whiteouts: the lower path and its whole subtree are gone.
	whiteouts map[string]struct{}
	// opaques: everything the lower had below this directory is gone.
	opaques map[string]struct{}
	// keep, if set, limits which written paths are remembered; hiding is
	// still applied to whatever was kept.
	keep func(path string) bool
	// keptBelow holds every directory that has (or had) a kept path below
	// it, so a non-directory that is not kept itself can still drop the
	// kept paths it replaces. A superset is harmless: it only costs a scan.
	keptBelow map[string]bool
}

// NewMerged returns an empty stack. keep may be nil (remember every path).
func NewMerged(keep func(path string) bool) *Merged {
	return &Merged{
		entries:   map[string]*Entry{},
		whiteouts: map[string]struct{}{},
		opaques:   map[string]struct{}{},
		keep:      keep,
		keptBelow: map[string]bool{},
	}
}

// ApplyTar walks one layer tar and applies it on top.
func (m *Merged) ApplyTar(r io.Reader, opts WalkOptions) (Stats, error) {
	var recs []Record
	st, err := Walk(r, opts, func(rec Record) error {
		if m.keep == nil || rec.Whiteout || rec.Opaque || m.keep(rec.Path) || m.keptBelow[rec.Path] {
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	m.Apply(recs)
	return st, nil
}

// Apply puts one layer's records on top. A layer's whiteouts and opaque
// markers act on the layers below it only, wherever they sit in the tar, so
// they are applied first and the layer's own entries after.
func (m *Merged) Apply(layer []Record) {
	var gone []Record
	for _, r := range layer {
		if r.Whiteout || r.Opaque {
			gone = append(gone, r)
		}
	}
	if len(gone) > 0 {
		wh, op := map[string]struct{}{}, map[string]struct{}{}
		for _, r := range gone {
			if r.Whiteout {
				wh[r.Path] = struct{}{}
				m.whiteouts[r.Path] = struct{}{}
			} else {
				op[r.Path] = struct{}{}
				m.opaques[r.Path] = struct{}{}
			}
		}
		// One pass over what the stack has written so far, however many
		// deletions the layer holds: a per-deletion scan goes quadratic on
		// layers that remove thousands of paths.
		for p := range m.entries {
			if hiddenBy(p, wh, op) {
				delete(m.entries, p)
			}
		}
	}
	for _, r := range layer {
		if r.Whiteout || r.Opaque {
			continue
		}
		e := r.Entry
		if m.keep != nil && !m.keep(e.Path) {
			if !e.IsDir() && m.keptBelow[e.Path] {
				m.dropAllBelow(e.Path)
			}
			continue
		}
		if m.keep != nil {
			for q := Parent(e.Path); q != "" && !m.keptBelow[q]; q = Parent(q) {
				m.keptBelow[q] = true
			}
		}
		if old, ok := m.entries[e.Path]; ok && !old.IsDir() && e.IsDir() {
			// A directory over a file: nothing the lower had below this
			// path can show through.
			m.opaques[e.Path] = struct{}{}
		}
		if !e.IsDir() {
			m.dropBelow(e.Path)
		}
		m.entries[e.Path] = &e
	}
}

// dropBelow forgets written paths under p, which a non-directory at p
// replaces. What the lower had below p is hidden by Hidden's ancestor check,
// so nothing needs recording; and only a directory at p can have written
// children, so the scan is skipped otherwise.
func (m *Merged) dropBelow(p string) {
	if old, ok := m.entries[p]; !ok || !old.IsDir() {
		if !m.keptBelow[p] {
			return
		}
	}
	m.dropAllBelow(p)
}

func (m *Merged) dropAllBelow(p string) {
	for q := range m.entries {
		if under(q, p) {
			delete(m.entries, q)
		}
	}
}

// hiddenBy reports whether p is removed by a whiteout at p or above, or by
// an opaque marker strictly above.
func hiddenBy(p string, wh, op map[string]struct{}) bool {
	if _, ok := wh[p]; ok {
		return true
	}
	for q := Parent(p); ; q = Parent(q) {
		if _, ok := wh[q]; ok && q != "" {
			return true
		}
		if _, ok := op[q]; ok {
			return true
		}
		if q == "" {
			return false
		}
	}
}

// Lookup returns the entry the stack wrote at p, if any.
func (m *Merged) Lookup(p string) (*Entry, bool) {
	e, ok := m.entries[p]
	return e, ok
}

// Hidden reports whether the lower's entry at p (if it had one) is hidden
// by this stack: deleted by a whiteout, under an opaque directory, or under
// a path the stack turned into a non-directory.
func (m *Merged) Hidden(p string) bool {
	if hiddenBy(p, m.whiteouts, m.opaques) {
		return true
	}
	for q := Parent(p); q != ""; q = Parent(q) {
		if e, ok := m.entries[q]; ok && !e.IsDir() {
			return true
		}
	}
	return false
}

// Len is the number of paths the stack wrote.
func (m *Merged) Len() int { return len(m.entries) }

// Entries lists the written paths in path order. Over an empty lower this
// is the final file system.
func (m *Merged) Entries() []*Entry {
	out := make([]*Entry, 0, len(m.entries))
	for _, e := range m.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Deletions lists the whiteout paths and opaque directories the stack
// applies to its lower, each sorted.
func (m *Merged) Deletions() (whiteouts, opaques []string) {
	for p := range m.whiteouts {
		whiteouts = append(whiteouts, p)
	}
	for p := range m.opaques {
		opaques = append(opaques, p)
	}
	sort.Strings(whiteouts)
	sort.Strings(opaques)
	return whiteouts, opaques
}
