package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/catalogtest"
)

func reopen(ctx context.Context, spec string) (catalog.Catalog, error) { return Open(ctx, spec) }

func TestMain(m *testing.M) {
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
		Reopen: reopen,
	})
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/x/data")
	if p, _ := DefaultPath(); p != "/x/data/strata/catalog.db" {
		t.Errorf("with XDG_DATA_HOME: %s", p)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultPath(); p != "/home/u/.local/share/strata/catalog.db" {
		t.Errorf("without XDG_DATA_HOME: %s", p)
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
