package catalogtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/synth"
)

// near returns a digest whose first 8 bytes are those of like's and whose
// rest is derived from salt: a chain ID that any store keying on a
// truncated chain ID cannot tell from like without reading it whole.
func near(like, salt string) string {
	sum := sha256.Sum256([]byte(salt))
	return like[:7+16] + hex.EncodeToString(sum[:])[16:]
}

func diffOnly(name string, chain ...string) catalog.Entry {
	return catalog.Entry{
		Name: name, Tag: "1", Platform: "linux/amd64", ChainIDs: chain,
		Added: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
}

// testCollisions catalogues chains that agree with a probe on the leading
// bytes of every chain ID but not on the IDs themselves: they must never
// be reported as shared or matching, and must not hide the one that is.
func testCollisions(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	a, b, cc, d := layer("a"), layer("b"), layer("c"), layer("d")
	probe := []string{a, b, cc, d}
	ents := []catalog.Entry{
		// Real prefix of the probe: its parent.
		diffOnly("parent", a, b, cc),
		// Agrees on a's and b's leading bytes only.
		diffOnly("near-b", a, near(b, "b1"), layer("x")),
		// The probe's top, nearly: not identical to the probe.
		diffOnly("near-top", a, b, cc, near(d, "top")),
		// Shares four real layers with the probe and goes on.
		diffOnly("deeper", a, b, cc, d, layer("e")),
	}
	// Many near-misses at the fourth layer, each going on, so that in the
	// stores' key order the real one sits among a run of look-alikes.
	for i := 0; i < 40; i++ {
		ents = append(ents, diffOnly(fmt.Sprintf("near-%02d", i), a, b, cc, near(d, fmt.Sprint("d", i)), layer(fmt.Sprint("f", i))))
	}
	if err := c.Add(ctx, ents...); err != nil {
		t.Fatal(err)
	}
	got, err := catalog.Lookup(ctx, c, probe, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := oracle(ents, probe, nil)
	if g := flatten(got); !reflect.DeepEqual(g, want) {
		t.Errorf("lookup among look-alikes = %v, oracle %v", g, want)
	}
	if g := flatten(got); !reflect.DeepEqual(g, map[int][]string{3: {"parent:1 linux/amd64"}}) {
		t.Errorf("lookup among look-alikes = %v, want only parent:1 at 3 layers", g)
	}
	for _, tc := range []struct {
		name  string
		probe []string
		want  int
	}{
		{"deeper shares four", probe, 4},
		{"look-alike fourth layer", []string{a, b, cc, near(d, "unseen")}, 3},
		{"look-alike second layer", []string{a, near(b, "unseen")}, 1},
		{"look-alike first layer", []string{near(a, "unseen")}, 0},
		{"whole near-07", ents[4+7].ChainIDs, 5},
	} {
		n, err := c.Shared(ctx, catalog.DiffChain, tc.probe)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("%s: shared depth %d, want %d", tc.name, n, tc.want)
		}
	}
	if _, err := c.Remove(ctx, catalog.Filter{Name: "deeper"}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Shared(ctx, catalog.DiffChain, probe); err != nil || n != 3 {
		t.Errorf("after removing deeper:1, shared depth %d, %v; want 3 (the look-alikes share only three)", n, err)
	}
	check(t, c)
}

// testBulk: a bulk load starts only in an empty catalog, answers lookups
// correctly while the indexes are gone, and a load abandoned without
// finishing (a killed import) is whole and indexed again after reopening.
func testBulk(t *testing.T, s Store) {
	ctx := context.Background()
	c, spec := s.New(t)
	b, ok := c.(catalog.BulkLoader)
	if !ok {
		t.Skip("store has no bulk load")
	}
	ents := synth.All(9, 500)
	started, err := b.BeginBulk(ctx)
	if err != nil || !started {
		t.Fatalf("bulk load of an empty catalog: started %v, %v", started, err)
	}
	if err := c.Add(ctx, ents[:250]...); err != nil {
		t.Fatal(err)
	}
	lookups := func(c catalog.Catalog, when string) {
		t.Helper()
		for _, e := range []catalog.Entry{ents[0], ents[100], ents[249]} {
			got, err := catalog.Lookup(ctx, c, e.ChainIDs, e.BlobChainIDs)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := flatten(got), oracle(ents[:250], e.ChainIDs, e.BlobChainIDs); !reflect.DeepEqual(g, w) {
				t.Fatalf("%s: lookup of %s = %v, oracle %v", when, e.Ref(), g, w)
			}
		}
		if n, err := c.Shared(ctx, catalog.DiffChain, ents[100].ChainIDs); err != nil || n != len(ents[100].ChainIDs) {
			t.Fatalf("%s: shared depth of a catalogued image %d, %v", when, n, err)
		}
	}
	lookups(c, "during the bulk load")
	if again, err := b.BeginBulk(ctx); err != nil || again {
		t.Errorf("a second bulk load of a non-empty catalog: started %v, %v", again, err)
	}
	// Abandoned: no EndBulk. A fresh handle, as after a restart.
	c2, err := s.Reopen(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	lookups(c2, "after reopening an abandoned bulk load")
	if ic, ok := c2.(interface {
		Indexed(context.Context) (bool, error)
	}); ok {
		if ok, err := ic.Indexed(ctx); err != nil || !ok {
			t.Errorf("after reopening, lookup indexes present: %v, %v", ok, err)
		}
	}
	check(t, c2)
}
