// Package sqlite is the embedded catalog store: one SQLite file (pure Go,
// modernc.org/sqlite), in WAL mode so readers never wait for the writer,
// with every Add in one transaction so a crash leaves whole entries only.
// Reading verbs open it with OpenReadOnly, which never writes; a file that
// is not positively a strata catalog (its application_id, else its
// version table) is never written either.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/internal/sqlstore"
)

// Store is the SQLite catalog.
type Store struct {
	*sqlstore.Store
	path string
}

var _ catalog.Catalog = (*Store)(nil)

var dialect = sqlstore.Dialect{
	Name: "sqlite",
	Schema: []string{
		`CREATE TABLE IF NOT EXISTS images (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL, tag TEXT NOT NULL, platform TEXT NOT NULL, ident TEXT NOT NULL,
			manifest_digest TEXT NOT NULL, index_digest TEXT NOT NULL, config_digest TEXT NOT NULL,
			layers INTEGER NOT NULL,
			diff_path BLOB, blob_path BLOB, diff_chain BLOB, blob_chain BLOB,
			history TEXT NOT NULL, steps TEXT NOT NULL, source TEXT NOT NULL, added INTEGER NOT NULL,
			UNIQUE (name, tag, platform, ident))`,
	},
	HasTable: `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`,
	Columns:  `SELECT name FROM pragma_table_info(?)`,
	OtherTables: `SELECT name FROM sqlite_master WHERE type IN ('table', 'view')
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT IN ('images', 'strata_catalog_meta',
		'crawl_watch', 'crawl_tokens', 'crawl_tags', 'crawl_jobs', 'crawl_done', 'layer_indexes') ORDER BY name`,
	Blob:     "BLOB",
	AutoID:   "INTEGER PRIMARY KEY",
	Stamp:    []string{fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)},
	HasIndex: `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)`,
	// SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766.
	MaxParams:  32000,
	RowAtATime: true,
	Retryable: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
}

// DefaultPath is $XDG_DATA_HOME/strata/catalog.db, else
// ~/.local/share/strata/catalog.db. A relative XDG_DATA_HOME is ignored,
// as the XDG spec asks.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("catalog: no XDG_DATA_HOME and no home directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "strata", "catalog.db"), nil
}

// ApplicationID is the SQLite application_id (header offset 68) strata
// stamps on its catalogs: "stra". A file with any other non-zero id is
// another program's, recognised from its header without opening it.
const ApplicationID = 0x73747261

// Open opens the catalog file at path for reading and writing, creating
// the file, but not its directory, if missing. An existing file is
// recognised as a strata catalog before anything is written to it (see
// sqlstore.Inspect); anything else is a *catalog.NotCatalogError and the
// file is left exactly as it was.
func Open(ctx context.Context, path string) (*Store, error) {
	f, err := examine(path)
	if err != nil {
		return nil, err
	}
	if !f.exists {
		if err := dirExists(path); err != nil {
			return nil, err
		}
	} else if err := writable(path); err != nil {
		return nil, err
	}
	if f.size > 0 && f.appID != ApplicationID {
		// Classified before the read-write connection, whose first act is
		// to switch the file to WAL mode.
		if err := probe(ctx, path, f); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		// NORMAL in WAL mode: a power cut may lose the last commits, but
		// never leaves a torn one; a killed process loses nothing committed.
		"synchronous(NORMAL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
		// A catalog of a million images is a few GB with random-keyed
		// indexes: the default 2 MB page cache turns every insert and
		// lookup into reads. 64 MB per connection, plus the file mapped
		// so cached pages cost no read syscalls.
		"cache_size(-65536)",
		"mmap_size(4294967296)",
		// Checkpoint after 64 MB of WAL rather than 4 MB: the random-keyed
		// path indexes rewrite the same pages in every batch, and a page
		// rewritten by several commits is copied into the file once per
		// checkpoint. Readers and crash recovery are unchanged.
		"wal_autocheckpoint(16384)",
	} {
		q.Add("_pragma", p)
	}
	// Writers take the lock at BEGIN, so two concurrent Adds queue on the
	// busy timeout instead of failing to upgrade a read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	s, err := sqlstore.New(ctx, db, dialect, sqlstore.Options{Where: path})
	if err != nil {
		db.Close()
		return nil, wrap(path, err)
	}
	return &Store{Store: s, path: path}, nil
}

// OpenReadOnly opens an existing catalog file for the reading verbs
// without writing to it: no schema, no WAL switch, no stamp, and a
// connection that cannot write (mode=ro, query_only). It works on a file
// or directory the user may not write, and returns an error wrapping
// catalog.ErrNoCatalog for a missing or empty file.
//
// A WAL-mode reader coordinates with writers through the -shm file, which
// SQLite creates beside the catalog if it can; where it cannot (a
// read-only directory) the file is read as immutable, which is exact as
// long as nobody writes it meanwhile — and nobody but its owner can.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	f, err := examine(path)
	if err != nil {
		return nil, err
	}
	if !f.exists || f.size == 0 {
		return nil, fmt.Errorf("%s: %w", path, catalog.ErrNoCatalog)
	}
	if f.appID != ApplicationID {
		// Not stamped: a catalog from before stamping, or someone else's
		// file, which must not get even a -shm file beside it.
		if err := probe(ctx, path, f); err != nil {
			return nil, err
		}
	}
	db, err := openReader(ctx, path, false)
	if err != nil {
		if db, err = openReader(ctx, path, true); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", path, err)
		}
	}
	s, err := sqlstore.New(ctx, db, dialect, sqlstore.Options{Where: path, ReadOnly: true})
	if err != nil {
		db.Close()
		return nil, wrap(path, err)
	}
	return &Store{Store: s, path: path}, nil
}

// openReader opens a read-only handle and reads the schema once, which is
// when SQLite opens (or fails to create) the WAL files.
func openReader(ctx context.Context, path string, immutable bool) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	if immutable {
		q.Set("immutable", "1")
	}
	for _, p := range []string{"query_only(1)", "busy_timeout(10000)", "cache_size(-65536)", "mmap_size(4294967296)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func dsn(path string, q url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// file is what examine learns without opening the file as a database.
type file struct {
	exists bool
	size   int64
	appID  uint32
	// wal: a -wal file exists beside it (a writer is active, or crashed).
	wal bool
}

var sqliteMagic = []byte("SQLite format 3\x00")

// examine reads the 100-byte SQLite header of path, if it exists.
func examine(path string) (file, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return file{}, nil
	}
	if err != nil {
		return file{}, fmt.Errorf("catalog %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return file{}, &catalog.NotCatalogError{Where: path, What: "not a regular file"}
	}
	f := file{exists: true, size: fi.Size()}
	if _, err := os.Stat(path + "-wal"); err == nil {
		f.wal = true
	}
	if f.size == 0 {
		return f, nil
	}
	r, err := os.Open(path)
	if err != nil {
		return file{}, fmt.Errorf("catalog %s: %w", path, err)
	}
	defer r.Close()
	var h [100]byte
	if _, err := io.ReadFull(r, h[:]); err != nil || !bytes.Equal(h[:16], sqliteMagic) {
		return file{}, &catalog.NotCatalogError{Where: path, What: "not a SQLite database"}
	}
	f.appID = binary.BigEndian.Uint32(h[68:72])
	if f.appID != 0 && f.appID != ApplicationID {
		return file{}, &catalog.NotCatalogError{Where: path, What: fmt.Sprintf("a SQLite database of another program, application_id %#08x", f.appID)}
	}
	return f, nil
}

// probe classifies an existing unstamped file through a connection that
// creates nothing beside it (immutable, unless a -wal file says the file
// is in use and must be read with the WAL), and returns an error unless
// it is a current strata catalog or holds no tables at all.
func probe(ctx context.Context, path string, f file) error {
	db, err := openReader(ctx, path, !f.wal)
	if err != nil {
		return &catalog.NotCatalogError{Where: path, What: "SQLite cannot read it: " + err.Error()}
	}
	defer db.Close()
	in, err := sqlstore.Inspect(ctx, db, dialect)
	if err != nil {
		return fmt.Errorf("catalog %s: %w", path, err)
	}
	switch in.State {
	case sqlstore.Foreign:
		return &catalog.NotCatalogError{Where: path, What: in.What}
	case sqlstore.Other:
		return &catalog.SchemaError{Where: path, Version: in.Version, Want: sqlstore.SchemaVersion}
	}
	return nil
}

// dirExists refuses to create a catalog in a directory that does not
// exist: a mistyped --catalog must not leave directories behind (only the
// default location's are created, by package store).
func dirExists(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("catalog %s: directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("catalog %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("catalog %s: %s is not a directory", path, dir)
	}
	return nil
}

// writable says why a catalog cannot be opened for writing, before SQLite
// fails with "attempt to write a readonly database" halfway through.
func writable(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		if err := unix.Access(p, unix.W_OK); err != nil {
			return fmt.Errorf("catalog %s: cannot write %s (%w); reading it (ls, base, export) still works", path, p, err)
		}
	}
	return nil
}

// wrap prefixes err with the path unless it already names it.
func wrap(path string, err error) error {
	var nc *catalog.NotCatalogError
	var se *catalog.SchemaError
	if errors.As(err, &nc) || errors.As(err, &se) || errors.Is(err, catalog.ErrNoCatalog) {
		return err
	}
	return fmt.Errorf("catalog %s: %w", path, err)
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Check runs SQLite's integrity check and the catalog invariants.
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.DB().QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("catalog %s: integrity check: %w", s.path, err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return err
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("catalog %s: integrity check: %s", s.path, strings.Join(msgs, "; "))
	}
	return s.Store.Check(ctx)
}
