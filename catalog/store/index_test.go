package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// indexBackend is a fresh, empty catalog database of one engine: its
// spec, and a raw handle on it for what only a test does (damage a row,
// age one).
type indexBackend struct {
	name string
	spec func(t *testing.T) string
	raw  func(t *testing.T, spec string) *sql.DB
}

var indexBackends = []indexBackend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "catalog.db") }, rawSQLite},
	{"postgres", func(t *testing.T) string { spec, _, _ := testenv.PostgresSchema(t, "strata_idx_test"); return spec }, rawPostgres},
}

func rawSQLite(t *testing.T, spec string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+spec+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func rawPostgres(t *testing.T, spec string) *sql.DB {
	db, err := sql.Open("pgx", spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openIndexes(t *testing.T, spec string, o IndexOptions) *IndexStore {
	t.Helper()
	s, err := OpenIndexStore(context.Background(), spec, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// builtRef is a gzip image a real builder made, in the shared registry.
func builtRef(t *testing.T) string {
	for _, img := range testenv.BuiltImages(t) {
		if img.Name == "single" && img.Builder == "buildkit" {
			return img.Refs["registry"]
		}
	}
	t.Fatal("no single/buildkit image in the registry")
	return ""
}

func openCounted(t *testing.T, ref string) (source.Source, *source.HTTPStats) {
	t.Helper()
	var stats source.HTTPStats
	src, err := source.Open(context.Background(), ref, source.Options{Stats: &stats})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, &stats
}

// loadLayers indexes every layer of src through store (nil: none) and
// returns the image, with how many requests and bytes indexing took.
func loadLayers(t *testing.T, ref string, store layerindex.Store) (im *layerindex.Image, reqs, got int64) {
	t.Helper()
	src, stats := openCounted(t, ref)
	r0, b0 := stats.Requests.Load(), stats.BytesReceived.Load()
	im = layerindex.New(src, layerindex.Options{Store: store})
	if err := im.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return im, stats.Requests.Load() - r0, stats.BytesReceived.Load() - b0
}

// sameEntries compares two indexes' entries exactly, times as instants.
func sameEntries(t *testing.T, what string, got, want *layerindex.Index) {
	t.Helper()
	if got.Digest != want.Digest || got.DiffID != want.DiffID || len(got.Entries) != len(want.Entries) {
		t.Fatalf("%s: got %s/%s with %d entries, want %s/%s with %d", what, got.Digest, got.DiffID, len(got.Entries),
			want.Digest, want.DiffID, len(want.Entries))
	}
	for i := range want.Entries {
		g, w := got.Entries[i], want.Entries[i]
		if !g.ModTime.Equal(w.ModTime) {
			t.Fatalf("%s: entry %d (%s): mtime %v, want %v", what, i, w.Path, g.ModTime, w.ModTime)
		}
		g.ModTime, w.ModTime = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: entry %d differs:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

// TestIndexStoreRoundTrip: the indexes of a real image's layers come
// back from the catalog's database entry for entry; a second indexing of
// the image, through a new connection as another process would, reads
// no layer byte.
func TestIndexStoreRoundTrip(t *testing.T) {
	ref := builtRef(t)
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			spec := b.spec(t)
			plain, _, _ := loadLayers(t, ref, nil)
			s := openIndexes(t, spec, IndexOptions{})
			layers := plain.Image.Layers
			if len(layers) == 0 {
				t.Fatal("image has no layers")
			}
			for i, l := range layers {
				if err := s.Put(ctx, l.Digest, plain.Layer(i)); err != nil {
					t.Fatal(err)
				}
				got, err := s.Get(ctx, l.Digest)
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				sameEntries(t, fmt.Sprintf("layer %d", i), got, plain.Layer(i))
				wantB, _ := layerindex.Marshal(plain.Layer(i))
				gotB, _ := layerindex.Marshal(got)
				if !bytes.Equal(gotB, wantB) {
					t.Errorf("layer %d: encodes to other bytes after the round trip", i)
				}
			}
			if _, err := s.Get(ctx, "sha256:"+strings.Repeat("0", 64)); !errors.Is(err, layerindex.ErrNotFound) {
				t.Errorf("absent digest: %v", err)
			}
			for _, bad := range []string{"", "../../etc/passwd", "sha256:../x"} {
				if err := s.Put(ctx, bad, plain.Layer(0)); err == nil {
					t.Errorf("Put accepted digest %q", bad)
				}
			}

			// Indexing through the store, then again as a new process.
			fresh := b.spec(t)
			for run := 1; run <= 2; run++ {
				s := openIndexes(t, fresh, IndexOptions{})
				im, reqs, got := loadLayers(t, ref, s)
				want := layerindex.HowBlob
				if run == 2 {
					want = layerindex.HowCache
				}
				for i := range layers {
					if im.How(i) != want {
						t.Errorf("run %d: layer %d indexed by %s, want %s", run, i, im.How(i), want)
					}
					if run == 2 {
						sameEntries(t, fmt.Sprintf("run 2, layer %d", i), im.Layer(i), plain.Layer(i))
					}
				}
				if run == 1 && got == 0 {
					t.Fatal("the first run read no layer bytes")
				}
				if run == 2 && (reqs != 0 || got != 0) {
					t.Errorf("the second run made %d requests for %d bytes, want none", reqs, got)
				}
			}
		})
	}
}

// TestIndexStoreDamagedRow: bytes that do not decode are no index: Get
// says ErrNotFound, the layer is indexed from its blob again, and the
// rebuilt index replaces the damaged row.
func TestIndexStoreDamagedRow(t *testing.T) {
	ref := builtRef(t)
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			spec := b.spec(t)
			s := openIndexes(t, spec, IndexOptions{})
			im, _, _ := loadLayers(t, ref, s)
			// Both rows of layer 0: its own, and the entries kept under
			// its diff_id for other compressions of it.
			d, diffID := im.Image.Layers[0].Digest, im.Image.Layers[0].DiffID
			raw := b.raw(t, spec)
			for _, garbage := range [][]byte{[]byte("STRATAIX\x01garbage"), {}, []byte("not an index")} {
				res, err := raw.Exec(rebind(b.name, "UPDATE layer_indexes SET data = ? WHERE digest IN (?, ?)"), garbage, d, diffID)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != 2 {
					t.Fatalf("damaged %d rows, want 2", n)
				}
				for _, k := range []string{d, diffID} {
					if _, err := s.Get(ctx, k); !errors.Is(err, layerindex.ErrNotFound) {
						t.Fatalf("damaged row %q: %v", garbage, err)
					}
				}
			}
			again, _, got := loadLayers(t, ref, s)
			if again.How(0) != layerindex.HowBlob || got == 0 {
				t.Errorf("damaged layer 0 indexed by %s reading %d bytes, want from its blob", again.How(0), got)
			}
			ix, err := s.Get(ctx, d)
			if err != nil {
				t.Fatalf("after the rebuild: %v", err)
			}
			sameEntries(t, "rebuilt", ix, im.Layer(0))
		})
	}
}

func rebind(engine, q string) string {
	if engine != "postgres" {
		return q
	}
	n := 0
	var b strings.Builder
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestIndexStoreEvicts: past the bound the least recently used rows go
// first, a Get counts as a use, and the table ends under the bound.
func TestIndexStoreEvicts(t *testing.T) {
	ref := builtRef(t)
	plain, _, _ := loadLayers(t, ref, nil)
	// The largest index: with 3 of them just under the bound, putting a
	// fourth must drop two to get under 90 % of it.
	var ix *layerindex.Index
	var enc []byte
	for i := range plain.Image.Layers {
		b, err := layerindex.Marshal(plain.Layer(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > len(enc) {
			ix, enc = plain.Layer(i), b
		}
	}
	if len(enc) < 1000 {
		t.Fatalf("largest index is %d bytes: too small to tell one eviction from two", len(enc))
	}
	bound := int64(len(enc))*3 + 100
	key := func(i int) string { return fmt.Sprintf("sha256:%064x", i+1) }
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			spec := b.spec(t)
			s := openIndexes(t, spec, IndexOptions{MaxBytes: bound})
			raw := b.raw(t, spec)
			old := time.Now().Add(-time.Hour)
			for i := 0; i < 3; i++ {
				if err := s.Put(ctx, key(i), ix); err != nil {
					t.Fatal(err)
				}
				used := old.Add(time.Duration(i) * time.Minute).UnixNano()
				if _, err := raw.Exec(rebind(b.name, "UPDATE layer_indexes SET last_used = ? WHERE digest = ?"), used, key(i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Get(ctx, key(0)); err != nil { // 0 becomes the most recent
				t.Fatal(err)
			}
			if err := s.Put(ctx, key(3), ix); err != nil {
				t.Fatal(err)
			}
			// A row used within the minute is not written again.
			usedAt := func(i int) int64 {
				t.Helper()
				var n int64
				if err := raw.QueryRow(rebind(b.name, "SELECT last_used FROM layer_indexes WHERE digest = ?"), key(i)).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			was := usedAt(3)
			if _, err := s.Get(ctx, key(3)); err != nil || usedAt(3) != was {
				t.Errorf("a Get right after the Put rewrote last_used (%v)", err)
			}
			var kept []int
			for i := 0; i < 4; i++ {
				if _, err := s.Get(ctx, key(i)); err == nil {
					kept = append(kept, i)
				}
			}
			if !reflect.DeepEqual(kept, []int{0, 3}) {
				t.Errorf("kept %v, want [0 3] (1 and 2 were least recently used)", kept)
			}
			var total int64
			if err := raw.QueryRow("SELECT CAST(COALESCE(SUM(LENGTH(data)), 0) AS BIGINT) FROM layer_indexes").Scan(&total); err != nil {
				t.Fatal(err)
			}
			if total > bound || total != 2*int64(len(enc)) {
				t.Errorf("table holds %d bytes, want the two kept indexes (%d) under the bound %d", total, 2*len(enc), bound)
			}
		})
	}
}

// TestIndexStoreConcurrentPut: two processes' worth of connections put
// the same digests at once; none fails, and the index reads back.
func TestIndexStoreConcurrentPut(t *testing.T) {
	ref := builtRef(t)
	plain, _, _ := loadLayers(t, ref, nil)
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			spec := b.spec(t)
			stores := []*IndexStore{openIndexes(t, spec, IndexOptions{}), openIndexes(t, spec, IndexOptions{})}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[g%2]
					for range 5 {
						for i, l := range plain.Image.Layers {
							if err := s.Put(ctx, l.Digest, plain.Layer(i)); err != nil {
								errs <- fmt.Errorf("goroutine %d, layer %d: %w", g, i, err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for i, l := range plain.Image.Layers {
				got, err := stores[1].Get(ctx, l.Digest)
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				sameEntries(t, fmt.Sprintf("layer %d", i), got, plain.Layer(i))
			}
		})
	}
}

// TestIndexStoreReadOnly: a read-only store reads what a writer kept,
// refuses to keep anything (catalog.ErrReadOnly), and writes nothing.
func TestIndexStoreReadOnly(t *testing.T) {
	ref := builtRef(t)
	plain, _, _ := loadLayers(t, ref, nil)
	d := plain.Image.Layers[0].Digest
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			spec := b.spec(t)
			if _, err := OpenIndexStore(ctx, spec, IndexOptions{ReadOnly: true}); !errors.Is(err, catalog.ErrNoCatalog) {
				t.Fatalf("read-only open of no catalog: %v", err)
			}
			w := openIndexes(t, spec, IndexOptions{})
			if err := w.Put(ctx, d, plain.Layer(0)); err != nil {
				t.Fatal(err)
			}
			r := openIndexes(t, spec, IndexOptions{ReadOnly: true})
			if !r.ReadOnly || w.ReadOnly {
				t.Errorf("ReadOnly: reader %v, writer %v", r.ReadOnly, w.ReadOnly)
			}
			got, err := r.Get(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			sameEntries(t, "read-only get", got, plain.Layer(0))
			other := plain.Image.Layers[len(plain.Image.Layers)-1].Digest
			if err := r.Put(ctx, other, plain.Layer(0)); !errors.Is(err, catalog.ErrReadOnly) {
				t.Errorf("read-only Put: %v, want catalog.ErrReadOnly", err)
			}
			var n int
			if err := b.raw(t, spec).QueryRow("SELECT COUNT(*) FROM layer_indexes").Scan(&n); err != nil || n != 1 {
				t.Errorf("%d rows (%v), want the writer's one", n, err)
			}
		})
	}
}

// v2Catalogs are catalogs as strata wrote them before the layer index
// table (schema version 2, one entry): for SQLite, a file that code made
// (testdata/catalog-v2.db: strata catalog add of single:classic); for
// PostgreSQL, today's schema without the table, which is that code's.
var v2Catalogs = []struct {
	name string
	make func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string {
		b, err := os.ReadFile(filepath.Join("testdata", "catalog-v2.db"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "catalog.db")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}},
	{"postgres", func(t *testing.T) string {
		spec, _, _ := testenv.PostgresSchema(t, "strata_idx_test")
		c, _, err := Open(context.Background(), spec, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Add(context.Background(), entry())
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rawPostgres(t, spec).Exec("DROP TABLE layer_indexes"); err != nil {
			t.Fatal(err)
		}
		return spec
	}},
}

// TestIndexStoreOnV2Catalog: a catalog written before the layer index
// table still opens, read-only (no indexes, nothing written) and
// read-write (the table is added, the version stays 2, the entries stay).
func TestIndexStoreOnV2Catalog(t *testing.T) {
	ref := builtRef(t)
	plain, _, _ := loadLayers(t, ref, nil)
	d := plain.Image.Layers[0].Digest
	for _, v2 := range v2Catalogs {
		t.Run(v2.name, func(t *testing.T) {
			ctx := context.Background()
			spec := v2.make(t)
			raw := rawSQLite
			if v2.name == "postgres" {
				raw = rawPostgres
			}
			db := raw(t, spec)
			hasTable := func() bool {
				t.Helper()
				var n int
				if err := db.QueryRow("SELECT COUNT(*) FROM layer_indexes").Scan(&n); err != nil {
					return false
				}
				return true
			}
			version := func() int {
				t.Helper()
				var v int
				if err := db.QueryRow("SELECT value FROM strata_catalog_meta WHERE key = 'schema'").Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			entries := func() int {
				t.Helper()
				c, _, err := Open(ctx, spec, OpenOptions{ReadOnly: true})
				if err != nil || c == nil {
					t.Fatalf("read-only catalog open: %v", err)
				}
				defer c.Close()
				n, err := c.Count(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if hasTable() || version() != 2 || entries() != 1 {
				t.Fatalf("not a version 2 catalog without the table: table %v, version %d, %d entries", hasTable(), version(), entries())
			}
			var before []byte
			if v2.name == "sqlite" {
				before, _ = os.ReadFile(spec)
			}

			r := openIndexes(t, spec, IndexOptions{ReadOnly: true})
			if _, err := r.Get(ctx, d); !errors.Is(err, layerindex.ErrNotFound) {
				t.Errorf("read-only, no table: Get %v, want ErrNotFound", err)
			}
			if err := r.Put(ctx, d, plain.Layer(0)); !errors.Is(err, catalog.ErrReadOnly) {
				t.Errorf("read-only, no table: Put %v, want catalog.ErrReadOnly", err)
			}
			if hasTable() {
				t.Fatal("a read-only open created the table")
			}
			if after, _ := os.ReadFile(spec); v2.name == "sqlite" && !bytes.Equal(before, after) {
				t.Error("a read-only open changed the catalog file")
			}

			w := openIndexes(t, spec, IndexOptions{})
			if err := w.Put(ctx, d, plain.Layer(0)); err != nil {
				t.Fatal(err)
			}
			if !hasTable() || version() != 2 || entries() != 1 {
				t.Errorf("after a read-write open: table %v, version %d, %d entries; want the table, 2, 1", hasTable(), version(), entries())
			}
			// The reader opened before the table existed finds it now.
			got, err := r.Get(ctx, d)
			if err != nil {
				t.Fatalf("read-only Get after the table appeared: %v", err)
			}
			sameEntries(t, "layer 0", got, plain.Layer(0))
		})
	}
}
