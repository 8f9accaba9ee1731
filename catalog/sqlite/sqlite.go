// Package sqlite is the embedded catalog store: one SQLite file (pure Go,
// modernc.org/sqlite), in WAL mode so readers never wait for the writer,
// with every Add in one transaction so a crash leaves whole entries only.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

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
	HasImages: `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'images')`,
	HasIndex:  `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)`,
	// SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766.
	MaxParams:  32000,
	RowAtATime: true,
	Retryable: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
}

// DefaultPath is $XDG_DATA_HOME/strata/catalog.db, else
// ~/.local/share/strata/catalog.db.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("catalog: no XDG_DATA_HOME and no home directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "strata", "catalog.db"), nil
}

// Open opens (creating if needed) the catalog file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
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
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	s, err := sqlstore.New(ctx, db, dialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return &Store{Store: s, path: path}, nil
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
