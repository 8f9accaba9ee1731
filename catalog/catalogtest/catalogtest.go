// Package catalogtest is the conformance suite every catalog store must
// pass: the same tests, run against SQLite and PostgreSQL.
package catalogtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/synth"
	"github.com/strata-tool/strata/image"
)

// Checker is implemented by stores that can verify their own invariants.
type Checker interface {
	Check(ctx context.Context) error
}

// Store describes the store under test.
type Store struct {
	// New returns a fresh, empty catalog and a spec (path or DSN) that
	// Reopen (in this or another process) opens the same catalog from.
	New func(t *testing.T) (catalog.Catalog, string)
	// Reopen opens an existing catalog by spec.
	Reopen func(ctx context.Context, spec string) (catalog.Catalog, error)
	// ReopenReadOnly opens an existing catalog by spec for reading only.
	ReopenReadOnly func(ctx context.Context, spec string) (catalog.Catalog, error)
}

// Run runs the whole suite.
func Run(t *testing.T, s Store) {
	t.Run("Lineage", func(t *testing.T) { testLineage(t, s) })
	t.Run("SingleChainKinds", func(t *testing.T) { testSingleKinds(t, s) })
	t.Run("ReplaceListRemove", func(t *testing.T) { testReplaceListRemove(t, s) })
	t.Run("ExportImport", func(t *testing.T) { testExportImport(t, s) })
	t.Run("ReadOnly", func(t *testing.T) { testReadOnly(t, s) })
	t.Run("DigestPrefixes", func(t *testing.T) { testDigestPrefixes(t, s) })
	t.Run("ConcurrentAdds", func(t *testing.T) { testConcurrent(t, s) })
	t.Run("AgainstOracle", func(t *testing.T) { testOracle(t, s) })
	t.Run("TruncatedKeyCollisions", func(t *testing.T) { testCollisions(t, s) })
	t.Run("BulkLoad", func(t *testing.T) { testBulk(t, s) })
	t.Run("ManyLayers", func(t *testing.T) { testManyLayers(t, s) })
	t.Run("KillDuringImport", func(t *testing.T) { testKill(t, s) })
	t.Run("Crawl", func(t *testing.T) { testCrawl(t, s) })
}

func layer(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// family builds entries from layer names; each entry's blob digests are
// its diff_ids' names with a "gz:" prefix, as if compressed.
func entry(name, tag string, layers ...string) catalog.Entry {
	var diff, blob []string
	for _, l := range layers {
		diff = append(diff, layer(l))
		blob = append(blob, layer("gz:"+l))
	}
	hist := make([]string, len(layers))
	for i, l := range layers {
		hist[i] = "RUN make " + l
	}
	return catalog.Entry{
		Name: name, Tag: tag, Platform: "linux/amd64",
		ChainIDs: image.ChainIDs(diff), BlobChainIDs: image.BlobChainIDs(blob),
		History: hist, Source: name + ":" + tag,
		Added: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
}

func family() []catalog.Entry {
	return []catalog.Entry{
		entry("debian", "bookworm", "deb"),
		entry("buildpack-deps", "curl", "deb", "curl"),
		entry("buildpack-deps", "scm", "deb", "curl", "git"),
		entry("python", "3", "deb", "curl", "git", "py1", "py2"),
		// Same content as python:3 under another name: identical.
		entry("mirror/python", "3", "deb", "curl", "git", "py1", "py2"),
		// An unrelated base and child, which must never match.
		entry("ubuntu", "24.04", "ubu"),
		entry("other", "1", "ubu", "x"),
	}
}

// oracle computes Lookup by brute force over entries.
func oracle(entries []catalog.Entry, diff, blob []string) map[int][]string {
	out := map[int][]string{}
	for _, e := range entries {
		for k, q := range [][]string{diff, blob} {
			ch := e.Chain(catalog.Kind(k))
			if len(ch) == 0 || len(q) < len(ch) {
				continue
			}
			if reflect.DeepEqual(q[:len(ch)], ch) {
				ref := e.Ref() + " " + e.Platform
				if !contains(out[len(ch)], ref) {
					out[len(ch)] = append(out[len(ch)], ref)
				}
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func flatten(ms []catalog.Match) map[int][]string {
	out := map[int][]string{}
	for _, m := range ms {
		for _, e := range m.Entries {
			out[m.Layers] = append(out[m.Layers], e.Ref()+" "+e.Platform)
		}
		sort.Strings(out[m.Layers])
	}
	return out
}

func check(t *testing.T, c catalog.Catalog) {
	t.Helper()
	if ch, ok := c.(Checker); ok {
		if err := ch.Check(context.Background()); err != nil {
			t.Fatalf("store invariants: %v", err)
		}
	}
}

func testLineage(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	fam := family()
	if err := c.Add(ctx, fam...); err != nil {
		t.Fatal(err)
	}
	// A child of python:3 not in the catalog.
	app := entry("app", "1", "deb", "curl", "git", "py1", "py2", "app")
	got, err := catalog.Lookup(ctx, c, app.ChainIDs, app.BlobChainIDs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{
		5: {"mirror/python:3 linux/amd64", "python:3 linux/amd64"},
		3: {"buildpack-deps:scm linux/amd64"},
		2: {"buildpack-deps:curl linux/amd64"},
		1: {"debian:bookworm linux/amd64"},
	}
	if g := flatten(got); !reflect.DeepEqual(g, want) {
		t.Errorf("ancestry of app:1 = %v, want %v", g, want)
	}
	if g := flatten(got); !reflect.DeepEqual(g, oracle(fam, app.ChainIDs, app.BlobChainIDs)) {
		t.Errorf("store disagrees with the brute-force oracle: %v", g)
	}
	for _, m := range got {
		for _, by := range m.By {
			if by != "diff_id chain and blob chain" {
				t.Errorf("match at %d layers by %q, want both chains", m.Layers, by)
			}
		}
	}
	// Identical: python:3 itself finds itself and the mirror at full length.
	py := fam[3]
	got, err = catalog.Lookup(ctx, c, py.ChainIDs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].Layers != 5 || len(got[0].Entries) != 2 {
		t.Errorf("identical lookup: %v", flatten(got))
	}
	// An image leaving the catalog after layer 3 (built on an uncatalogued
	// sibling of python:3 that shares scm's chain plus one more layer).
	odd := entry("odd", "1", "deb", "curl", "git", "py1", "zz")
	n, err := c.Shared(ctx, catalog.DiffChain, odd.ChainIDs)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("shared depth of odd:1 = %d, want 4 (python:3's first four layers)", n)
	}
	n, err = c.Shared(ctx, catalog.DiffChain, entry("new", "1", "new").ChainIDs)
	if err != nil || n != 0 {
		t.Errorf("shared depth of an unrelated image = %d, %v; want 0", n, err)
	}
	check(t, c)
}

func testSingleKinds(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	base := entry("base", "1", "a", "b")
	blobOnly := base
	blobOnly.Name, blobOnly.ChainIDs = "blobonly", nil
	diffOnly := base
	diffOnly.Name, diffOnly.BlobChainIDs = "diffonly", nil
	if err := c.Add(ctx, blobOnly, diffOnly); err != nil {
		t.Fatal(err)
	}
	child := entry("child", "1", "a", "b", "c")
	for _, tc := range []struct {
		name       string
		diff, blob []string
		want       []string
		by         string
	}{
		{"diff only", child.ChainIDs, nil, []string{"diffonly:1 linux/amd64"}, "diff_id chain"},
		{"blob only", nil, child.BlobChainIDs, []string{"blobonly:1 linux/amd64"}, "blob chain"},
		{"both", child.ChainIDs, child.BlobChainIDs, []string{"blobonly:1 linux/amd64", "diffonly:1 linux/amd64"}, ""},
	} {
		got, err := catalog.Lookup(ctx, c, tc.diff, tc.blob)
		if err != nil {
			t.Fatal(err)
		}
		if g := flatten(got); !reflect.DeepEqual(g, map[int][]string{2: tc.want}) {
			t.Errorf("%s: %v", tc.name, g)
		}
		if tc.by != "" && (len(got) != 1 || got[0].By[0] != tc.by) {
			t.Errorf("%s: matched by %v, want %q", tc.name, got, tc.by)
		}
	}
	// A chain with a hole (a layer whose blob digest is unknown) is not
	// compared at all rather than compared wrongly.
	holey := append([]string(nil), child.BlobChainIDs...)
	holey[1] = ""
	got, err := catalog.Lookup(ctx, c, nil, holey)
	if err != nil || len(got) != 0 {
		t.Errorf("holey chain: %v, %v", got, err)
	}
	if err := c.Add(ctx, catalog.Entry{Name: "nolayers"}); err == nil {
		t.Error("an entry without chains was accepted")
	}
	bad := base
	bad.ChainIDs = []string{"sha256:zz"}
	if err := c.Add(ctx, bad); err == nil {
		t.Error("an entry with a malformed chain ID was accepted")
	}
	check(t, c)
}

func testReplaceListRemove(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	fam := family()
	if err := c.Add(ctx, fam...); err != nil {
		t.Fatal(err)
	}
	// Re-adding an entry replaces it (history text changes, count does not).
	again := fam[1]
	again.History = []string{"ADD rootfs", "RUN apt-get install curl"}
	if err := c.Add(ctx, again); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count(ctx); n != len(fam) {
		t.Errorf("count after replace = %d, want %d", n, len(fam))
	}
	got, err := c.List(ctx, catalog.ParseFilter("buildpack-deps:curl"))
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].History, again.History) {
		t.Fatalf("list after replace: %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0].ChainIDs, again.ChainIDs) || !reflect.DeepEqual(got[0].BlobChainIDs, again.BlobChainIDs) || !got[0].Added.Equal(again.Added) {
		t.Errorf("entry did not round-trip: %+v", got[0])
	}
	all, err := c.List(ctx, catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, e := range all {
		refs = append(refs, e.Ref())
	}
	want := []string{"buildpack-deps:curl", "buildpack-deps:scm", "debian:bookworm", "mirror/python:3", "other:1", "python:3", "ubuntu:24.04"}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("list = %v, want %v", refs, want)
	}
	if got, _ := c.List(ctx, catalog.Filter{Name: "buildpack-deps"}); len(got) != 2 {
		t.Errorf("list by name: %d entries", len(got))
	}
	// Removing the intermediate leaves the grandparent as nearest ancestor.
	n, err := c.Remove(ctx, catalog.ParseFilter("buildpack-deps:scm"))
	if err != nil || n != 1 {
		t.Fatalf("remove: %d, %v", n, err)
	}
	scm := fam[2]
	ms, err := catalog.Lookup(ctx, c, scm.ChainIDs, scm.BlobChainIDs)
	if err != nil || len(ms) == 0 || ms[0].Layers != 2 {
		t.Errorf("after remove, scm's nearest ancestor: %v, %v", flatten(ms), err)
	}
	check(t, c)
	if _, err := c.Remove(ctx, catalog.Filter{}); err == nil {
		t.Error("remove with an empty filter was allowed")
	}
	// Once nothing catalogued holds a chain, no depth of it is shared.
	for _, f := range []string{"python", "mirror/python", "buildpack-deps", "debian"} {
		if _, err := c.Remove(ctx, catalog.Filter{Name: f}); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := c.Shared(ctx, catalog.DiffChain, fam[3].ChainIDs); err != nil || d != 0 {
		t.Errorf("after removing the debian family, shared depth = %d, %v", d, err)
	}
	if n, _ := c.Count(ctx); n != 2 {
		t.Errorf("count = %d, want 2 (ubuntu, other)", n)
	}
	check(t, c)
}

func testExportImport(t *testing.T, s Store) {
	ctx := context.Background()
	a, _ := s.New(t)
	ents := append(family(), synth.All(7, 300)...)
	if err := a.Add(ctx, ents...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := catalog.Export(ctx, a, &buf); err != nil {
		t.Fatal(err)
	}
	b, _ := s.New(t)
	n, err := catalog.Import(ctx, b, bytes.NewReader(buf.Bytes()), 64)
	if err != nil || n != len(ents) {
		t.Fatalf("import: %d, %v (want %d)", n, err, len(ents))
	}
	la, _ := a.List(ctx, catalog.Filter{})
	lb, _ := b.List(ctx, catalog.Filter{})
	if !reflect.DeepEqual(la, lb) {
		t.Error("imported catalog differs from the exported one")
	}
	var again bytes.Buffer
	if err := catalog.Export(ctx, b, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("export → import → export is not byte-identical")
	}
	if _, err := catalog.Import(ctx, b, strings.NewReader(`[{"name":"x"}]`), 0); err == nil {
		t.Error("a bare array was accepted as an export")
	}
	check(t, b)
	testImportStops(t, s, buf.String())
}

// testImportStops: an import meeting a bad entry commits every entry
// before it, in whole batches and the one it was filling, says which
// entry, and reports exactly how many were committed.
func testImportStops(t *testing.T, s Store, export string) {
	ctx := context.Background()
	lines := strings.Split(export, "\n")
	for _, tc := range []struct {
		name string
		bad  string
	}{
		{"invalid entry", `{"name":"","chainIDs":["sha256:00"]}`},
		{"malformed JSON", `{"name":"x",`},
	} {
		// Line 0 is the header, so line 151 holds entry 151.
		bad := append(append(append([]string(nil), lines[:151]...), tc.bad+","), lines[151:]...)
		c, _ := s.New(t)
		n, err := catalog.Import(ctx, c, strings.NewReader(strings.Join(bad, "\n")), 64)
		if err == nil || !strings.Contains(err.Error(), "entry 151") {
			t.Errorf("%s: import error %v, want it to name entry 151", tc.name, err)
		}
		if count, _ := c.Count(ctx); n != 150 || count != 150 {
			t.Errorf("%s: import reported %d committed, the catalog holds %d; want 150 and 150", tc.name, n, count)
		}
		check(t, c)
	}
}

func testConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	c, spec := s.New(t)
	ents := synth.All(11, 400)
	// Writers through separate handles (as separate processes or servers
	// would), with overlapping batches: every entry is added twice.
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			h, err := s.Reopen(ctx, spec)
			if err != nil {
				errs <- err
				return
			}
			defer h.Close()
			lo := w * len(ents) / writers
			hi := min(len(ents), (w+2)*len(ents)/writers)
			for i := lo; i < hi; i += 25 {
				if err := h.Add(ctx, ents[i:min(hi, i+25)]...); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Entries past the last writer's own range are added once only.
	if n, _ := c.Count(ctx); n != len(ents) {
		t.Errorf("count = %d, want %d", n, len(ents))
	}
	check(t, c)
}

func testOracle(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	ents := synth.All(3, 1500)
	if err := c.Add(ctx, ents...); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100; i++ {
		e := ents[rnd.IntN(len(ents))]
		got, err := catalog.Lookup(ctx, c, e.ChainIDs, e.BlobChainIDs)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := flatten(got), oracle(ents, e.ChainIDs, e.BlobChainIDs); !reflect.DeepEqual(g, w) {
			t.Fatalf("lookup of %s: %v, oracle %v", e.Ref(), g, w)
		}
	}
}
