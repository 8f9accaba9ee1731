package explore

import (
	"archive/tar"
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// The tree as of each layer must be the file system layerindex's Merge
// leaves (overlay rules: whiteouts, opaque directories, paths below a
// file), with the same blame, and a layer's A/M/R must be what Merge says
// it added, overwrote and removed. Checked on every builder's images and
// on generated layers that exercise each rule.

func TestTreeMatchesMergeOnBuiltImages(t *testing.T) {
	n := 0
	for _, b := range testenv.BuiltImages(t) {
		ref, ok := b.Refs["docker-archive"]
		if !ok {
			continue
		}
		n++
		t.Run(b.Name+"/"+b.Builder, func(t *testing.T) { checkAgainstMerge(t, ref) })
	}
	if n == 0 {
		t.Fatal("no builder image has a docker-archive ref")
	}
}

func TestTreeMatchesMergeOnOverlayRules(t *testing.T) {
	d := func(n string) ocitest.Member { return ocitest.Member{Name: n, Type: tar.TypeDir, Mode: 0o755} }
	f := func(n, b string) ocitest.Member { return ocitest.Member{Name: n, Mode: 0o644, Body: []byte(b)} }
	sl := func(n, to string) ocitest.Member {
		return ocitest.Member{Name: n, Type: tar.TypeSymlink, Link: to, Mode: 0o777}
	}
	tars := [][]byte{
		ocitest.Tar(t, d("a/"), f("a/x", "1"), f("a/y", "22"), d("a/sub/"), f("a/sub/z", "333"), d("b/"), f("b/k", "k"),
			f("c", "file"), f("implied/deep/file", "i"), d("o/"), f("o/old", "old")),
		// whiteout of a file and of a directory; a file put over a
		// directory; an opaque directory with new content; a path both
		// whited out and written in one layer.
		ocitest.Tar(t, f("a/.wh.x", ""), f("a/.wh.sub", ""), f("b", "now a file"), d("o/"), f("o/.wh..wh..opq", ""),
			f("o/new", "n"), f(".wh.c", ""), f("c", "again")),
		// below a symlink (an orphan); a directory back where a file was;
		// a deleted directory re-created below.
		ocitest.Tar(t, sl("ln", "/etc"), f("ln/evil", "e"), f(".wh.b", ""), d("b/"), f("b/back", "b"),
			f("a/sub/z2", "z2"), f("a/y", "changed"), f("dup", "1"), f("dup", "two")),
	}
	var ls []ocitest.Layer
	for _, tb := range tars {
		ls = append(ls, ocitest.GzipLayer(t, tb))
	}
	checkAgainstMerge(t, ocitest.Layout(t, t.TempDir(), ls))
}

// checkAgainstMerge compares every layer's state with layerindex.
func checkAgainstMerge(t *testing.T, ref string) {
	t.Helper()
	ctx := context.Background()
	src, err := source.Open(ctx, ref, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	im := layerindex.New(src, layerindex.Options{})
	if err := im.Load(ctx); err != nil {
		t.Fatal(err)
	}
	m := newModel(ctx, ref, im, defaultKeymap())
	loadLayers(ctx, im, func(msg tea.Msg) { m.Update(msg) })
	n := len(im.Image.Layers)
	changes, err := im.Changes(n)
	if err != nil {
		t.Fatal(err)
	}
	prev, first := map[string]bool{}, map[string]bool{}
	for i := 0; i < n; i++ {
		fsys, err := im.Merge(i + 1)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{} // path → "layer type"
		for _, fl := range fsys.Files() {
			want[fl.Path] = fmt.Sprintf("L%d %s", fl.Layer, fl.Type)
			for q := parentPath(fl.Path); q != ""; q = parentPath(q) {
				if _, ok := want[q]; !ok {
					want[q] = "implied"
				}
			}
		}
		for p, v := range want {
			if v == "implied" {
				if e, ok := fsys.Lookup(p); ok {
					want[p] = fmt.Sprintf("L%d %s", e.Layer, e.Type)
				}
			}
		}
		s := m.t.compute(i, i-1)
		got := map[string]string{}
		removed := map[string]bool{}
		for id := 1; id < len(m.t.nodes); id++ {
			p := m.t.path(nodeID(id))
			switch st := s.st[id]; st {
			case stRemoved:
				removed[p] = true
			case stAdded, stModified, stUnmod:
				got[p] = "implied"
				if e := s.entry(m.t, nodeID(id)); e != nil {
					got[p] = fmt.Sprintf("L%d %s", e.layer, e.typ)
					if (st == stUnmod) == (int(e.layer) == i) {
						t.Errorf("layer %d: %s is %q but was written by layer %d", i, p, marks[st], e.layer)
					}
				}
			}
		}
		if a, b := dump(got), dump(want); a != b {
			t.Fatalf("layer %d: tree\n%s\nmerge\n%s", i, a, b)
		}
		var wantGone []string
		for p := range prev {
			if _, ok := want[p]; !ok {
				wantGone = append(wantGone, p)
			}
		}
		if a, b := dumpSet(removed), strings.Join(sorted(wantGone), "\n"); a != b {
			t.Fatalf("layer %d: removed\n%s\nwant\n%s", i, a, b)
		}
		for _, c := range changes[i] {
			if c.File.Entry == nil || c.File.Type == layers.TypeDir || c.Kind != layerindex.Added && c.Kind != layerindex.Modified {
				continue
			}
			id := m.t.lookup(c.Path)
			if _, kept := want[c.Path]; !kept || id < 0 {
				continue // a path below a symlink: no file system holds it
			}
			wantMark := map[layerindex.ChangeKind]string{layerindex.Added: "A", layerindex.Modified: "M"}[c.Kind]
			if got := marks[s.st[id]]; got != wantMark {
				t.Errorf("layer %d: %s marked %q, layerindex says %s", i, c.Path, got, c.Kind)
			}
		}
		prev = map[string]bool{}
		for p := range want {
			prev[p] = true
		}
		if i == 0 {
			first = maps.Clone(prev)
		}
		checkCompareAll(t, m, i, first, want)
	}
}

// checkCompareAll: in "compare all" the tree as of layer i is the same,
// marked against the first layer's: A where the first layer had nothing,
// M where a later layer wrote over it, R for what the first layer had
// and layer i no longer has.
func checkCompareAll(t *testing.T, m *Model, i int, first map[string]bool, want map[string]string) {
	t.Helper()
	if i == 0 {
		return
	}
	s := m.t.compute(i, 0)
	for id := 1; id < len(m.t.nodes); id++ {
		p := m.t.path(nodeID(id))
		_, now := want[p]
		var wantSt uint8
		switch {
		case now && !first[p]:
			wantSt = stAdded
		case now:
			wantSt = stUnmod
			if e := s.entry(m.t, nodeID(id)); e != nil && e.layer > 0 {
				wantSt = stModified
			}
		case first[p]:
			wantSt = stRemoved
		}
		if s.st[id] != wantSt {
			t.Errorf("layer %d, all changes: %s is %q (%d), want %q (%d)", i, p, marks[s.st[id]], s.st[id], marks[wantSt], wantSt)
		}
	}
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func dump(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+" "+v)
	}
	return strings.Join(sorted(out), "\n")
}

func dumpSet(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(sorted(out), "\n")
}

func sorted(l []string) []string { sort.Strings(l); return l }
