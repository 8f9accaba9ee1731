package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/catalogtest"
)

func reopen(ctx context.Context, spec string) (catalog.Catalog, error) { return Open(ctx, spec) }

func TestMain(m *testing.M) {
	if path := os.Getenv(envROChild); path != "" {
		if err := readOnlyChild(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	catalogtest.Main(reopen)
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	catalogtest.Run(t, catalogtest.Store{
		New: func(t *testing.T) (catalog.Catalog, string) {
			path := filepath.Join(t.TempDir(), "catalog.db")
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, path
		},
		Reopen:         reopen,
		ReopenReadOnly: func(ctx context.Context, spec string) (catalog.Catalog, error) { return OpenReadOnly(ctx, spec) },
	})
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/x/data")
	if p, _ := DefaultPath(); p != "/x/data/strata/catalog.db" {
		t.Errorf("with XDG_DATA_HOME: %s", p)
	}
	t.Setenv("HOME", "/home/u")
	for _, xdg := range []string{"", "relative/data"} {
		t.Setenv("XDG_DATA_HOME", xdg)
		if p, _ := DefaultPath(); p != "/home/u/.local/share/strata/catalog.db" {
			t.Errorf("with XDG_DATA_HOME=%q: %s", xdg, p)
		}
	}
}

func TestWAL(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	if err := s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
}

// TestRefusesOtherSchemas: a catalog written in another layout is refused
// with the reason, never read with the wrong key format.
func TestRefusesOtherSchemas(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup []string
		want  string
	}{
		// Version 1's table was version 2's, without the version table.
		{"version 1 (no version row)", dialect.Schema, "older strata (schema version 1)"},
		{"version 1 that strata 2 began to open", append([]string{
			`CREATE TABLE strata_catalog_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
		}, dialect.Schema...), "older strata (schema version 1)"},
		{"a future version", []string{
			`CREATE TABLE strata_catalog_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
			`INSERT INTO strata_catalog_meta VALUES ('schema', 99)`,
		}, "schema version 99"},
	} {
		path := filepath.Join(t.TempDir(), "c.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range tc.setup {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		s, err := Open(ctx, path)
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.want)
		}
	}
	// A fresh catalog records the version, and reopens.
	path := filepath.Join(t.TempDir(), "c.db")
	for i := 0; i < 2; i++ {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var v int
		if err := s.DB().QueryRow("SELECT value FROM strata_catalog_meta WHERE key = 'schema'").Scan(&v); err != nil || v != 2 {
			t.Errorf("stored schema version %d, %v; want 2", v, err)
		}
		s.Close()
	}
}
