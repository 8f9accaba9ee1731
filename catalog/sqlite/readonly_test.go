package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/synth"
)

// snapshot records every file in dir: name, mode and a digest of its
// bytes (FIFOs are not read).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[e.Name()] = v
	}
	return out
}

// sqliteFile creates a database with stmts, as another program would,
// and closes it (a WAL-mode file is checkpointed and left alone).
func sqliteFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestForeignFilesUntouched: a file strata did not create is refused by
// the reading and the writing open alike, byte for byte unchanged, with
// nothing created beside it, and the message never tells the user to
// delete it (issue 13 #3).
func TestForeignFilesUntouched(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		what  string
	}{
		{"another program's table named images", func(t *testing.T, p string) {
			sqliteFile(t, p, `CREATE TABLE images (id INTEGER PRIMARY KEY, url TEXT, width INTEGER)`,
				`INSERT INTO images (url, width) VALUES ('https://example.com/a.png', 640)`)
		}, `table "images" that is not strata's`},
		{"another program's tables", func(t *testing.T, p string) {
			sqliteFile(t, p, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`, `INSERT INTO notes (body) VALUES ('x')`)
		}, "tables notes"},
		{"another program's tables in WAL mode", func(t *testing.T, p string) {
			sqliteFile(t, p, `PRAGMA journal_mode=WAL`, `CREATE TABLE users (id INTEGER PRIMARY KEY)`, `CREATE VIEW v AS SELECT id FROM users`)
		}, "tables users, v"},
		{"another program's application_id", func(t *testing.T, p string) {
			sqliteFile(t, p, `PRAGMA application_id = 252006674`, `CREATE TABLE images (x)`)
		}, "application_id 0x0f055112"},
		{"a text file", func(t *testing.T, p string) {
			os.WriteFile(p, []byte("name,tag\ndebian,12\n"), 0o644)
		}, "not a SQLite database"},
		{"a short file", func(t *testing.T, p string) {
			os.WriteFile(p, []byte("SQLite format 3\x00"), 0o644)
		}, "not a SQLite database"},
		{"a FIFO", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip(err)
			}
		}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "data.db")
			tc.setup(t, path)
			before := snapshot(t, dir)
			for _, open := range []struct {
				name string
				fn   func(context.Context, string) (*Store, error)
			}{{"read-only", OpenReadOnly}, {"read-write", Open}} {
				s, err := open.fn(ctx, path)
				if err == nil {
					s.Close()
					t.Fatalf("%s open accepted it", open.name)
				}
				var nc *catalog.NotCatalogError
				if !errors.As(err, &nc) || !strings.Contains(err.Error(), tc.what) {
					t.Errorf("%s open: %v; want a NotCatalogError saying %q", open.name, err, tc.what)
				}
				for _, w := range []string{"remove", "delete", "older strata"} {
					if strings.Contains(strings.ToLower(err.Error()), w) {
						t.Errorf("%s open: %q says %q of a file strata did not write", open.name, err, w)
					}
				}
				if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
					t.Errorf("%s open changed the directory:\nbefore %v\nafter  %v", open.name, before, after)
				}
			}
		})
	}
}

func addSynth(t *testing.T, path string, n int) []catalog.Entry {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ents := synth.All(9, n)
	if err := s.Add(context.Background(), ents...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return ents
}

func appID(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(h[68:])
}

// TestReadOnlyOpenWritesNothing: reading a strata catalog leaves the
// database file byte for byte as it was; the only files that may appear
// are SQLite's WAL coordination files, empty of data.
func TestReadOnlyOpenWritesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	ents := addSynth(t, path, 50)
	if id := appID(t, path); id != ApplicationID {
		t.Fatalf("a new catalog's application_id = %#x, want %#x", id, ApplicationID)
	}
	before := snapshot(t, dir)
	s, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx); err != nil || n != len(ents) {
		t.Errorf("count %d, %v", n, err)
	}
	ms, err := catalog.Lookup(ctx, s, ents[7].ChainIDs, ents[7].BlobChainIDs)
	if err != nil || len(ms) == 0 || ms[0].Layers != ents[7].Layers() {
		t.Errorf("lookup: %v", err)
	}
	if err := catalog.Export(ctx, s, io.Discard); err != nil {
		t.Error(err)
	}
	s.Close()
	after := snapshot(t, dir)
	if after["c.db"] != before["c.db"] {
		t.Error("a read-only open changed the catalog file")
	}
	for name := range after {
		if name == "c.db" {
			continue
		}
		if name != "c.db-wal" && name != "c.db-shm" {
			t.Errorf("a read-only open created %s", name)
		}
		if fi, _ := os.Stat(filepath.Join(dir, name)); name == "c.db-wal" && fi.Size() != 0 {
			t.Errorf("a read-only open wrote %d bytes of WAL", fi.Size())
		}
	}
}

// TestUnstampedCatalog: a catalog written before strata stamped its
// application_id is still recognised (by its version table); reading it
// leaves it unstamped, and the next read-write open stamps it.
func TestUnstampedCatalog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	ents := addSynth(t, path, 20)
	sqliteFile(t, path, "PRAGMA application_id = 0")
	if appID(t, path) != 0 {
		t.Fatal("could not unstamp")
	}
	before := snapshot(t, dir)["c.db"]
	s, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("read-only open of an unstamped catalog: %v", err)
	}
	if n, _ := s.Count(ctx); n != len(ents) {
		t.Errorf("count %d", n)
	}
	s.Close()
	if snapshot(t, dir)["c.db"] != before {
		t.Error("reading an unstamped catalog changed it")
	}
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if id := appID(t, path); id != ApplicationID {
		t.Errorf("after a read-write open, application_id = %#x", id)
	}
}

// TestNoCatalogYet: a missing or empty file is no catalog to a reader,
// which creates nothing; a writer creates the file, not its directory.
func TestNoCatalogYet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.db")
	if _, err := OpenReadOnly(ctx, missing); !errors.Is(err, catalog.ErrNoCatalog) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	noTables := filepath.Join(dir, "notables.db")
	sqliteFile(t, noTables, "PRAGMA user_version = 7")
	before := snapshot(t, dir)
	for _, p := range []string{empty, noTables} {
		if _, err := OpenReadOnly(ctx, p); !errors.Is(err, catalog.ErrNoCatalog) {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
		t.Errorf("reading no catalog changed the directory: %v → %v", before, after)
	}
	for _, p := range []string{empty, noTables} {
		s, err := Open(ctx, p)
		if err != nil {
			t.Fatalf("read-write open of %s: %v", filepath.Base(p), err)
		}
		s.Close()
	}
	nested := filepath.Join(dir, "no", "such", "dir", "x.db")
	if s, err := Open(ctx, nested); err == nil || !strings.Contains(err.Error(), "does not exist") {
		if s != nil {
			s.Close()
		}
		t.Errorf("open in a missing directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open in a missing directory created directories (%v)", err)
	}
}

const envROChild = "STRATA_SQLITE_TEST_READONLY"

// readOnlyChild runs in the subprocess of TestWithoutWritePermission:
// it reads the catalog at path and checks a writer is refused clearly.
func readOnlyChild(path string) error {
	ctx := context.Background()
	s, err := OpenReadOnly(ctx, path)
	if err != nil {
		return fmt.Errorf("read-only open: %w", err)
	}
	defer s.Close()
	es, err := s.List(ctx, catalog.Filter{})
	if err != nil || len(es) == 0 {
		return fmt.Errorf("list: %d entries, %v", len(es), err)
	}
	e := es[len(es)/2]
	ms, err := catalog.Lookup(ctx, s, e.ChainIDs, e.BlobChainIDs)
	if err != nil || len(ms) == 0 || ms[0].Layers != e.Layers() {
		return fmt.Errorf("lookup of %s: %v", e.Ref(), err)
	}
	if err := catalog.Export(ctx, s, io.Discard); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w, err := Open(ctx, path)
	if err == nil {
		w.Close()
		return errors.New("read-write open of a catalog this user cannot write succeeded")
	}
	if !strings.Contains(err.Error(), "cannot write") {
		return fmt.Errorf("read-write open: unclear error %v", err)
	}
	return nil
}

// TestWithoutWritePermission: a catalog the user may read but not write
// (the file 0444, in a writable or a read-only directory, with or without
// another user's WAL files beside it) serves ls, lookups and export. As
// root, permissions do not bind, so the reader runs as nobody.
func TestWithoutWritePermission(t *testing.T) {
	base, err := os.MkdirTemp("", "strata-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(base)
	})
	os.Chmod(base, 0o755)
	bin := filepath.Join(base, "sqlite.test")
	copyFile(t, os.Args[0], bin, 0o755)
	for _, tc := range []struct {
		name     string
		dirMode  os.FileMode
		leftover bool // a reader of another user left -wal and -shm
	}{
		{"read-only file in a writable directory", 0o777, false},
		{"read-only file in a read-only directory", 0o555, false},
		{"another user's WAL files beside it", 0o555, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "catalog.db")
			addSynth(t, path, 30)
			if tc.leftover {
				s, err := OpenReadOnly(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if _, err := os.Stat(path + "-shm"); err != nil {
					t.Skipf("no -shm left to test with: %v", err)
				}
			}
			if err := os.Chmod(path, 0o444); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			cmd := exec.Command(bin, "-test.run=^$")
			cmd.Env = append(os.Environ(), envROChild+"="+path)
			if os.Geteuid() == 0 {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("reader without write permission: %v\n%s", err, out)
			}
			if after := snapshot(t, dir); after["catalog.db"] != before["catalog.db"] {
				t.Error("the catalog changed")
			}
		})
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlySeesLiveWriter: while a writer holds the catalog open, its
// commits are in the -wal file, not yet in the database file; a reader
// must see them (an immutable open would not).
func TestReadOnlySeesLiveWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	w, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ents := synth.All(4, 40)
	if err := w.Add(ctx, ents...); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the writer's commits are not in a -wal file (%v)", err)
	}
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.Count(ctx); err != nil || n != len(ents) {
		t.Errorf("reader sees %d entries, %v; the writer committed %d", n, err, len(ents))
	}
	more := synth.All(5, 10)
	if err := w.Add(ctx, more...); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Count(ctx); err != nil || n != len(ents)+len(more) {
		t.Errorf("after another commit the reader sees %d entries, %v; want %d", n, err, len(ents)+len(more))
	}
}
