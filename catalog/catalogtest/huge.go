package catalogtest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
)

// testManyLayers looks up an image of 33,000 layers — hostile, but an
// image is input — whose chains have catalogued prefixes up to the most
// layers an entry may have. Probing every position of both chains would
// bind 66,000 parameters, past SQLite's and PostgreSQL's limits.
func testManyLayers(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	const n = 33000
	diff := make([]string, n)
	blob := make([]string, n)
	for i := range diff {
		diff[i] = layer(fmt.Sprint("huge-", i))
		blob[i] = layer(fmt.Sprint("gz:huge-", i))
	}
	dc, bc := image.ChainIDs(diff), image.BlobChainIDs(blob)
	var ents []catalog.Entry
	want := map[int][]string{}
	for _, k := range []int{1, 999, catalog.MaxLayers} {
		e := catalog.Entry{
			Name: fmt.Sprint("prefix-", k), Tag: "1", Platform: "linux/amd64",
			ChainIDs: dc[:k], BlobChainIDs: bc[:k],
			Added: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		}
		ents = append(ents, e)
		want[k] = []string{e.Ref() + " " + e.Platform}
	}
	// Matched by its blob chain only.
	blobOnly := catalog.Entry{Name: "blob-only", Tag: "1", Platform: "linux/amd64", BlobChainIDs: bc[:500],
		Added: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	ents = append(ents, blobOnly)
	want[500] = []string{"blob-only:1 linux/amd64"}
	if err := c.Add(ctx, ents...); err != nil {
		t.Fatal(err)
	}
	got, err := catalog.Lookup(ctx, c, dc, bc)
	if err != nil {
		t.Fatalf("lookup of a %d-layer image: %v", n, err)
	}
	if g := flatten(got); !reflect.DeepEqual(g, want) {
		t.Errorf("lookup of a %d-layer image = %v, want %v", n, g, want)
	}
	if g, o := flatten(got), oracle(ents, dc, bc); !reflect.DeepEqual(g, o) {
		t.Errorf("store disagrees with the oracle: %v, oracle %v", g, o)
	}
	for _, m := range got {
		for i, by := range m.By {
			if w := "diff_id chain and blob chain"; m.Layers != 500 && by != w {
				t.Errorf("%s matched by %q, want %q", m.Entries[i].Ref(), by, w)
			}
		}
	}
	if d, err := c.Shared(ctx, catalog.DiffChain, dc); err != nil || d != catalog.MaxLayers {
		t.Errorf("shared depth of the %d-layer image = %d, %v; want %d", n, d, err, catalog.MaxLayers)
	}
	// An entry past the bound is refused with the reason, not an SQL error.
	big := catalog.Entry{Name: "too-big", Tag: "1", ChainIDs: dc[:catalog.MaxLayers+1]}
	if err := c.Add(ctx, big); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("adding a %d-layer entry: %v", catalog.MaxLayers+1, err)
	}
	check(t, c)
}
