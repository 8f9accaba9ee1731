package explore

import (
	"bytes"
	"regexp"
	"sort"
)

// row is one line of the tree pane.
type row struct {
	id    nodeID
	depth uint16
	// last has bit d set when the row's ancestor at depth d (or the row
	// itself, at its own depth) is the last of its siblings shown: the tree
	// guides are drawn from it (depths past 63 get no guides).
	last uint64
}

// shown is what the tree pane shows: the show/hide toggles by status
// (Ctrl+A/R/M/U), the path filter, the order and the collapsed
// directories.
type shown struct {
	hide   [stRemoved + 1]bool
	filter *matcher
	bySize bool
}

// matcher is the path filter: a plain substring unless the text uses
// regular-expression syntax (as dive's filter is a regex).
type matcher struct {
	text string
	lit  []byte
	re   *regexp.Regexp
}

func newMatcher(s string) (*matcher, error) {
	if s == "" {
		return nil, nil
	}
	m := &matcher{text: s}
	if regexp.QuoteMeta(s) == s {
		m.lit = []byte(s)
		return m, nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	m.re = re
	return m, nil
}

func (m *matcher) match(p []byte) bool {
	if m.re != nil {
		return m.re.Match(p)
	}
	return bytes.Contains(p, m.lit)
}

// flatten lists the rows to show, in tree order. A directory is listed
// when it passes the toggles and filter itself or something below it
// does; a collapsed directory's subtree is judged but not listed.
func (t *table) flatten(s *state, sh shown, collapsed []bool) []row {
	f := flattener{t: t, s: s, sh: sh, collapsed: collapsed, rows: make([]row, 0, 1024), path: make([]byte, 0, 256)}
	for st := stUnmod; st <= stRemoved; st++ {
		if !sh.hide[st] {
			f.vm |= 1 << st
		}
	}
	f.walk(0, 0, true)
	markLast(f.rows)
	return f.rows
}

type flattener struct {
	t         *table
	s         *state
	sh        shown
	collapsed []bool
	rows      []row
	path      []byte
	vm        uint8 // the statuses the toggles let through
}

// walk judges the subtree at id, listing rows when emit is set.
func (f *flattener) walk(id nodeID, depth int, emit bool) bool {
	nd := &f.t.nodes[id]
	kids := nd.kids
	if f.sh.bySize && len(kids) > 1 {
		kids = append([]nodeID(nil), kids...)
		size := f.s.size
		sort.SliceStable(kids, func(a, b int) bool { return size[kids[a]] > size[kids[b]] })
	}
	base := len(f.path)
	emitKids := emit && (id == 0 || id >= nodeID(len(f.collapsed)) || !f.collapsed[id])
	any := false
	for _, k := range kids {
		st := f.s.st[k]
		if st == stNone || f.s.mask[k]&f.vm == 0 {
			continue
		}
		if base > 0 {
			f.path = append(f.path, '/')
		}
		f.path = append(f.path, f.t.nodes[k].name...)
		at := len(f.rows)
		if emitKids {
			f.rows = append(f.rows, row{id: k, depth: uint16(depth)})
		}
		own := !f.sh.hide[st] && (f.sh.filter == nil || f.sh.filter.match(f.path))
		below := len(f.t.nodes[k].kids) > 0 && f.walk(k, depth+1, emitKids)
		if own || below {
			any = true
		} else if emitKids {
			f.rows = f.rows[:at]
		}
		f.path = f.path[:base]
	}
	return any
}

// markLast sets the guide bits: a backward pass finds which rows are the
// last shown of their siblings, a forward pass hands each row its
// ancestors' bits.
func markLast(rows []row) {
	var follows [64]bool
	maxDepth := 0
	for i := len(rows) - 1; i >= 0; i-- {
		d := int(rows[i].depth)
		for k := d + 1; k <= maxDepth && k < 64; k++ {
			follows[k] = false
		}
		maxDepth = d
		if d < 64 {
			if !follows[d] {
				rows[i].last = 1 << d
			}
			follows[d] = true
		}
	}
	var stack [64]uint64
	for i := range rows {
		d := int(rows[i].depth)
		if d >= 64 {
			continue
		}
		var up uint64
		if d > 0 {
			up = stack[d-1]
		}
		rows[i].last |= up
		stack[d] = rows[i].last
	}
}
