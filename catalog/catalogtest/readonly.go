package catalogtest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/strata-tool/strata/catalog"
)

// testReadOnly: a read-only handle answers every reading call as a
// read-write one does, and refuses every write with catalog.ErrReadOnly
// before touching the store.
func testReadOnly(t *testing.T, s Store) {
	ctx := context.Background()
	c, spec := s.New(t)
	fam := family()
	if err := c.Add(ctx, fam...); err != nil {
		t.Fatal(err)
	}
	ro, err := s.ReopenReadOnly(ctx, spec)
	if err != nil {
		t.Fatalf("read-only open of a catalog: %v", err)
	}
	defer ro.Close()
	want, _ := c.List(ctx, catalog.Filter{})
	got, err := ro.List(ctx, catalog.Filter{})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("read-only list: %d entries, %v; want %d", len(got), err, len(want))
	}
	app := entry("app", "1", "deb", "curl", "git", "py1", "py2", "app")
	ms, err := catalog.Lookup(ctx, ro, app.ChainIDs, app.BlobChainIDs)
	if err != nil || len(ms) != 4 || ms[0].Layers != 5 {
		t.Errorf("read-only lookup: %v, %v", flatten(ms), err)
	}
	if n, err := ro.Shared(ctx, catalog.DiffChain, app.ChainIDs); err != nil || n != 5 {
		t.Errorf("read-only shared depth: %d, %v", n, err)
	}
	var a, b bytes.Buffer
	if err := catalog.Export(ctx, c, &a); err != nil {
		t.Fatal(err)
	}
	if err := catalog.Export(ctx, ro, &b); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("read-only export differs (%v)", err)
	}
	if err := ro.Add(ctx, entry("new", "1", "new")); !errors.Is(err, catalog.ErrReadOnly) {
		t.Errorf("add through a read-only handle: %v", err)
	}
	if n, err := ro.Remove(ctx, catalog.Filter{Name: "debian"}); n != 0 || !errors.Is(err, catalog.ErrReadOnly) {
		t.Errorf("remove through a read-only handle: %d, %v", n, err)
	}
	if n, err := catalog.Import(ctx, ro, bytes.NewReader(a.Bytes()), 0); n != 0 || !errors.Is(err, catalog.ErrReadOnly) {
		t.Errorf("import through a read-only handle: %d, %v", n, err)
	}
	if n, _ := c.Count(ctx); n != len(fam) {
		t.Errorf("count after refused writes = %d, want %d", n, len(fam))
	}
}
