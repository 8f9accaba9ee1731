package store

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/internal/testenv"
)

func entry() catalog.Entry {
	return catalog.Entry{Name: "debian", Tag: "12", Platform: "linux/amd64",
		ChainIDs: []string{"sha256:1111111111111111111111111111111111111111111111111111111111111111"}}
}

// TestDefaultLocation: the default catalog is under XDG_DATA_HOME; a
// reader neither needs nor creates it, a writer creates its directories.
func TestDefaultLocation(t *testing.T) {
	ctx := context.Background()
	xdg := filepath.Join(t.TempDir(), "xdg")
	t.Setenv("XDG_DATA_HOME", xdg)
	want := filepath.Join(xdg, "strata", "catalog.db")
	c, where, err := Open(ctx, "", OpenOptions{ReadOnly: true})
	if c != nil || err != nil || where != want {
		t.Fatalf("read-only, no catalog yet: %v, %q, %v", c, where, err)
	}
	if _, err := os.Stat(xdg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only open created %s (%v)", xdg, err)
	}
	c, where, err = Open(ctx, "", OpenOptions{})
	if err != nil || where != want {
		t.Fatalf("read-write: %q, %v", where, err)
	}
	if err := c.Add(ctx, entry()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if fi, err := os.Stat(filepath.Dir(want)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, %v", fi.Mode(), err)
	}
	c, _, err = Open(ctx, "", OpenOptions{ReadOnly: true})
	if err != nil || c == nil {
		t.Fatalf("read-only open of the default catalog: %v", err)
	}
	defer c.Close()
	if n, _ := c.Count(ctx); n != 1 {
		t.Errorf("count %d", n)
	}
}

// TestPathSpec: a path names a SQLite file whose directory must exist.
func TestPathSpec(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "nonexistent", "dir", "x.db")
	if c, _, err := Open(ctx, bad, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		if c != nil {
			c.Close()
		}
		t.Errorf("read-write open in a missing directory: %v", err)
	}
	if c, where, err := Open(ctx, bad, OpenOptions{ReadOnly: true}); c != nil || err != nil || where != bad {
		t.Errorf("read-only open in a missing directory: %v %q %v", c, where, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nonexistent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directories were created (%v)", err)
	}
	foreign := filepath.Join(dir, "notes.txt")
	os.WriteFile(foreign, []byte("not a catalog\n"), 0o644)
	for _, ro := range []bool{true, false} {
		_, where, err := Open(ctx, foreign, OpenOptions{ReadOnly: ro})
		var nc *catalog.NotCatalogError
		if !errors.As(err, &nc) || where != foreign {
			t.Errorf("read-only=%v open of a text file: %q, %v", ro, where, err)
		}
	}
	c, where, err := Open(ctx, filepath.Join(dir, "c.db"), OpenOptions{})
	if err != nil || where != filepath.Join(dir, "c.db") {
		t.Fatalf("%q, %v", where, err)
	}
	c.Close()
}

// TestPostgresSpec: a postgres:// spec opens the shared server; where
// never shows the password; a reader finds no catalog in an empty schema.
func TestPostgresSpec(t *testing.T) {
	spec, _, _ := testenv.PostgresSchema(t, "strata_store_test")
	dsn := testenv.Service(t, "STRATA_TEST_POSTGRES_DSN")
	ctx := context.Background()
	for _, s := range []string{spec, "postgresql://" + strings.TrimPrefix(spec, "postgres://")} {
		c, where, err := Open(ctx, s, OpenOptions{ReadOnly: true})
		if c != nil || err != nil || !strings.HasPrefix(where, "postgres") {
			t.Fatalf("read-only open of an empty schema: %v, %q, %v", c, where, err)
		}
		if u, _ := url.Parse(dsn); u.User != nil {
			if p, ok := u.User.Password(); ok && strings.Contains(where, p) {
				t.Errorf("where %q shows the password", where)
			}
		}
	}
	c, _, err := Open(ctx, spec, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add(ctx, entry()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, _, err = Open(ctx, spec, OpenOptions{ReadOnly: true})
	if err != nil || c == nil {
		t.Fatalf("read-only open: %v", err)
	}
	defer c.Close()
	if es, err := c.List(ctx, catalog.Filter{}); err != nil || len(es) != 1 {
		t.Errorf("list: %v, %v", es, err)
	}
}
