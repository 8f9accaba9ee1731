package postgres

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/catalogtest"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/catalog/synth"
	"github.com/strata-tool/strata/internal/testenv"
)

func reopen(ctx context.Context, spec string) (catalog.Catalog, error) { return Open(ctx, spec) }

func TestMain(m *testing.M) {
	catalogtest.Main(reopen)
	os.Exit(m.Run())
}

// freshStore opens a catalog in a fresh schema.
func freshStore(t *testing.T) (*Store, string) {
	t.Helper()
	spec, _, _ := testenv.PostgresSchema(t, "strata_test")
	s, err := Open(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, spec
}

func TestConformance(t *testing.T) {
	catalogtest.Run(t, catalogtest.Store{
		New:            func(t *testing.T) (catalog.Catalog, string) { return freshStore(t) },
		Reopen:         reopen,
		ReopenReadOnly: func(ctx context.Context, spec string) (catalog.Catalog, error) { return OpenReadOnly(ctx, spec) },
	})
}

// TestSameAnswersAsSQLite loads one synthetic catalog into both stores and
// checks every lookup, listing and shared depth agrees.
func TestSameAnswersAsSQLite(t *testing.T) {
	ctx := context.Background()
	pg, _ := freshStore(t)
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	ents := synth.All(42, 3000)
	for _, c := range []catalog.Catalog{pg, lite} {
		if err := c.Add(ctx, ents...); err != nil {
			t.Fatal(err)
		}
	}
	rnd := rand.New(rand.NewPCG(4, 2))
	for i := 0; i < 200; i++ {
		e := ents[rnd.IntN(len(ents))]
		// Half the probes are unknown children of a catalogued image.
		diff, blob := e.ChainIDs, e.BlobChainIDs
		if i%2 == 1 {
			diff = append(append([]string(nil), diff...), synth.All(uint64(1000+i), 1)[0].ChainIDs[0])
			blob = nil
		}
		a, err := catalog.Lookup(ctx, pg, diff, blob)
		if err != nil {
			t.Fatal(err)
		}
		b, err := catalog.Lookup(ctx, lite, diff, blob)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("lookup %d of %s: postgres and sqlite disagree:\n%v\n%v", i, e.Ref(), a, b)
		}
		if len(a) == 0 {
			t.Fatalf("lookup %d of %s found nothing", i, e.Ref())
		}
		sa, _ := pg.Shared(ctx, catalog.DiffChain, diff)
		sb, _ := lite.Shared(ctx, catalog.DiffChain, diff)
		if sa != sb {
			t.Fatalf("shared depth of %s: postgres %d, sqlite %d", e.Ref(), sa, sb)
		}
	}
	la, _ := pg.List(ctx, catalog.Filter{})
	lb, _ := lite.List(ctx, catalog.Filter{})
	if !reflect.DeepEqual(la, lb) {
		t.Error("listings differ")
	}
}

// TestConcurrentFirstOpens: servers started together on an empty schema
// all open it (the losers of CREATE … IF NOT EXISTS races retry, and a
// creation in progress is not mistaken for an old catalog) and all set up
// the crawl tables.
func TestConcurrentFirstOpens(t *testing.T) {
	for round := 0; round < 5; round++ {
		spec, _, _ := testenv.PostgresSchema(t, "strata_test")
		errs := make(chan error, 6)
		for i := 0; i < 6; i++ {
			go func() {
				s, err := Open(context.Background(), spec)
				if err == nil {
					err = s.EnsureCrawl(context.Background())
					s.Close()
				}
				errs <- err
			}()
		}
		for i := 0; i < 6; i++ {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
	}
}
