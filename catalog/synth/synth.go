// Package synth generates synthetic catalogs with realistic lineage for
// tests and benchmarks: a few OS bases of 1–3 layers, runtime images built
// on them (some on each other), and many application images of 5–30
// layers built on either. Generation is deterministic for a seed.
package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/strata-tool/strata/catalog"
)

// Gen yields entries in an order where every parent precedes its children.
type Gen struct {
	rnd     *rand.Rand
	n       int
	bases   int
	mids    int
	parents []*node // bases and mids, in creation order
	i       int
	seq     uint64
	t0      time.Time
}

type node struct {
	name       string
	diff, blob []string // chain IDs
	parent     *node
}

// New returns a generator of n entries.
func New(seed uint64, n int) *Gen {
	g := &Gen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), n: n, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g.bases = min(n, max(1, n/20000+5))
	g.mids = min(n-g.bases, max(0, n/500))
	return g
}

// Len is the number of entries the generator yields.
func (g *Gen) Len() int { return g.n }

func (g *Gen) digest() string {
	g.seq++
	var b [8]byte
	for i := range b {
		b[i] = byte(g.seq >> (8 * i))
	}
	return digestOf(sha256.Sum256(append(b[:], byte(g.rnd.Uint32()))))
}

// digestOf renders sum with one allocation: the generator's garbage is
// collected while the benchmark times the store.
func digestOf(sum [32]byte) string {
	var buf [71]byte
	copy(buf[:], "sha256:")
	hex.Encode(buf[7:], sum[:])
	return string(buf[:])
}

func extend(prev, id string) string {
	if prev == "" {
		return id
	}
	var buf [2*71 + 1]byte
	n := copy(buf[:], prev)
	buf[n] = ' '
	n++
	n += copy(buf[n:], id)
	return digestOf(sha256.Sum256(buf[:n]))
}

func (g *Gen) build(name string, parent *node, own int) *node {
	n := &node{name: name, parent: parent}
	if parent != nil {
		n.diff = append(n.diff, parent.diff...)
		n.blob = append(n.blob, parent.blob...)
	}
	for j := 0; j < own; j++ {
		var pd, pb string
		if len(n.diff) > 0 {
			pd, pb = n.diff[len(n.diff)-1], n.blob[len(n.blob)-1]
		}
		n.diff = append(n.diff, extend(pd, g.digest()))
		n.blob = append(n.blob, extend(pb, g.digest()))
	}
	return n
}

// Next returns the next entry and the catalogued parent it was built on
// (nil for a base, and without History), or ok=false when all n were
// yielded.
func (g *Gen) Next() (e catalog.Entry, parent *catalog.Entry, ok bool) {
	if g.i >= g.n {
		return catalog.Entry{}, nil, false
	}
	i := g.i
	g.i++
	var n *node
	switch {
	case i < g.bases:
		n = g.build(fmt.Sprintf("synth/base-%d", i), nil, 1+g.rnd.IntN(3))
		g.parents = append(g.parents, n)
	case i < g.bases+g.mids:
		p := g.parents[g.rnd.IntN(len(g.parents))]
		n = g.build(fmt.Sprintf("synth/runtime-%d", i), p, min(25-len(p.diff), 2+g.rnd.IntN(7)))
		if len(n.diff) == len(p.diff) {
			n = g.build(fmt.Sprintf("synth/runtime-%d", i), p, 1)
		}
		g.parents = append(g.parents, n)
	default:
		p := g.parents[g.rnd.IntN(len(g.parents))]
		lo := max(1, 5-len(p.diff))
		hi := 30 - len(p.diff)
		n = g.build(fmt.Sprintf("synth/app-%d", i), p, lo+g.rnd.IntN(max(1, hi-lo+1)))
	}
	e = g.entry(n, i, true)
	if n.parent != nil {
		pe := g.entry(n.parent, -1, false)
		parent = &pe
	}
	return e, parent, true
}

// entry renders n; the parent Next returns comes without History, which
// would be the benchmark's own garbage to collect while it times a store.
func (g *Gen) entry(n *node, i int, history bool) catalog.Entry {
	var hist []string
	if history {
		hist = make([]string, len(n.diff))
		for j := range hist {
			hist[j] = "RUN step " + strconv.Itoa(j) + " of " + n.name
		}
	}
	e := catalog.Entry{
		Name:         n.name,
		Tag:          "1.0",
		Platform:     "linux/amd64",
		ChainIDs:     n.diff,
		BlobChainIDs: n.blob,
		History:      hist,
		Source:       "synth",
		Added:        g.t0,
	}
	if i >= 0 {
		e.Added = g.t0.Add(time.Duration(i) * time.Second)
	}
	return e
}

// All generates every entry.
func All(seed uint64, n int) []catalog.Entry {
	g := New(seed, n)
	out := make([]catalog.Entry, 0, n)
	for {
		e, _, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}
