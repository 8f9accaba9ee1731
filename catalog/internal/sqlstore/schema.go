package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/strata-tool/strata/catalog"
)

// SchemaVersion is the storage layout this code reads and writes. Version
// 1 (no version row) kept 8 bytes of each chain ID in its paths; read with
// today's 2-byte paths it would miss every match, so it is refused.
const SchemaVersion = 2

// metaTable holds the schema version; its name is strata's own, which is
// how a strata catalog is recognised on an engine without an
// application_id (PostgreSQL) and in SQLite files written before strata
// stamped one.
const metaTable = "strata_catalog_meta"

// imagesColumns are the columns of table images in every version so far:
// with no version row, a table of exactly these is strata's version 1.
var imagesColumns = append([]string{"id"}, strings.Split(columns, ", ")...)

// State is what a database holds, as far as the catalog is concerned.
type State int

const (
	// Empty: no catalog tables, and nothing else a catalog would clash with.
	Empty State = iota
	// Current: a strata catalog in the layout this code reads.
	Current
	// Other: a strata catalog in another version's layout.
	Other
	// Foreign: data that is not a strata catalog.
	Foreign
)

// Inspection is what Inspect found.
type Inspection struct {
	State State
	// Version is the catalog's schema version (Current, Other).
	Version int
	// What describes a Foreign database.
	What string
}

// Inspect recognises a strata catalog positively, by its version row (or,
// without one, by version 1's exact table), reading only: it is what lets
// a reading verb open a catalog without writing, and keeps strata from
// adding tables to, or rebuilding, a database it did not create.
func Inspect(ctx context.Context, db *sql.DB, d Dialect) (Inspection, error) {
	has := func(table string) (bool, error) {
		var ok bool
		err := db.QueryRowContext(ctx, bindFor(d, d.HasTable), table).Scan(&ok)
		return ok, err
	}
	fail := func(err error) (Inspection, error) {
		return Inspection{}, fmt.Errorf("%s catalog: read schema: %w", d.Name, err)
	}
	meta, err := has(metaTable)
	if err != nil {
		return fail(err)
	}
	// versionRow reads the version row: found, or not (yet).
	versionRow := func() (Inspection, bool, error) {
		var v int
		err := db.QueryRowContext(ctx, "SELECT value FROM "+metaTable+" WHERE key = 'schema'").Scan(&v)
		switch {
		case err == nil && v == SchemaVersion:
			return Inspection{State: Current, Version: v}, true, nil
		case err == nil:
			return Inspection{State: Other, Version: v}, true, nil
		case !errors.Is(err, sql.ErrNoRows):
			return Inspection{}, false, err
		}
		return Inspection{}, false, nil
	}
	if meta {
		in, ok, err := versionRow()
		if err != nil {
			return fail(err)
		}
		if ok {
			return in, nil
		}
		// A version table without its row: a creation interrupted before
		// the row went in, or a version 1 catalog that strata 2 began to
		// open (it created the table, then refused) — told apart below.
	}
	images, err := has("images")
	if err != nil {
		return fail(err)
	}
	if images {
		// Or a creation in progress: another server starting at the same
		// time made the version table, its row and the tables since the
		// first look (seen with three servers started together). The row
		// goes in before the tables, so with the tables there it is too.
		if meta, err = has(metaTable); err != nil {
			return fail(err)
		}
		if meta {
			in, ok, err := versionRow()
			if err != nil {
				return fail(err)
			}
			if ok {
				return in, nil
			}
		}
	}
	if images {
		cols, err := stringsOf(ctx, db, bindFor(d, d.Columns), "images")
		if err != nil {
			return fail(err)
		}
		sort.Strings(cols)
		want := append([]string(nil), imagesColumns...)
		sort.Strings(want)
		if slices.Equal(cols, want) {
			return Inspection{State: Other, Version: 1}, nil
		}
		return Inspection{State: Foreign, What: "it has a table \"images\" that is not strata's"}, nil
	}
	if meta || d.OtherTables == "" {
		return Inspection{State: Empty}, nil
	}
	others, err := stringsOf(ctx, db, d.OtherTables)
	if err != nil {
		return fail(err)
	}
	if len(others) > 0 {
		if len(others) > 5 {
			others = append(others[:5], "…")
		}
		return Inspection{State: Foreign, What: "a database of another program, with tables " + strings.Join(others, ", ")}, nil
	}
	return Inspection{State: Empty}, nil
}

func stringsOf(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Options say how New opens a store.
type Options struct {
	// ReadOnly: no statement that writes is ever run; an Empty database
	// is catalog.ErrNoCatalog.
	ReadOnly bool
	// Where names the database in errors (a path, a redacted DSN).
	Where string
}

// New wraps an open database. Read-write, it creates the schema in an
// empty one; either way it refuses anything Inspect does not recognise as
// a current strata catalog, before writing to it.
func New(ctx context.Context, db *sql.DB, d Dialect, o Options) (*Store, error) {
	in, err := Inspect(ctx, db, d)
	if err != nil {
		return nil, err
	}
	switch in.State {
	case Foreign:
		return nil, &catalog.NotCatalogError{Where: o.Where, What: in.What}
	case Other:
		return nil, &catalog.SchemaError{Where: o.Where, Version: in.Version, Want: SchemaVersion}
	case Empty:
		if o.ReadOnly {
			return nil, fmt.Errorf("%s: %w", o.Where, catalog.ErrNoCatalog)
		}
	}
	if o.ReadOnly {
		return &Store{db: db, d: d, readOnly: true}, nil
	}
	if err := create(ctx, db, d, o.Where); err != nil {
		return nil, err
	}
	return &Store{db: db, d: d}, nil
}

// create makes (or completes) the schema; every statement is idempotent,
// so concurrent openers and a creation interrupted halfway are fine.
func create(ctx context.Context, db *sql.DB, d Dialect, where string) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+metaTable+" (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("%s catalog schema: %w", d.Name, err)
	}
	// The version goes in before the tables, so a concurrent opener
	// never sees tables without it.
	if _, err := db.ExecContext(ctx, bindFor(d, "INSERT INTO "+metaTable+" (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO NOTHING"), SchemaVersion); err != nil {
		return fmt.Errorf("%s catalog schema: %w", d.Name, err)
	}
	var v int
	if err := db.QueryRowContext(ctx, "SELECT value FROM "+metaTable+" WHERE key = 'schema'").Scan(&v); err != nil {
		return fmt.Errorf("%s catalog schema: %w", d.Name, err)
	}
	if v != SchemaVersion {
		// Another strata created it meanwhile.
		return &catalog.SchemaError{Where: where, Version: v, Want: SchemaVersion}
	}
	// The indexes come last: a bulk load killed before rebuilding them
	// (see BeginBulk) gets them back at the next read-write open.
	// The layer index table came after version 2 without changing it: a
	// table of its own, which older strata ignore and this one adds here.
	stmts := append(append([]string(nil), d.Schema...), indexSchema(d.Blob)...)
	for _, q := range append(append(stmts, lookupIndexes...), d.Stamp...) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s catalog schema: %w", d.Name, err)
		}
	}
	return nil
}

// lookupIndexes are the path indexes, the same on every engine.
var lookupIndexes = []string{
	`CREATE INDEX IF NOT EXISTS images_diff_path ON images (diff_path)`,
	`CREATE INDEX IF NOT EXISTS images_blob_path ON images (blob_path)`,
}

// BeginBulk implements catalog.BulkLoader: in an empty catalog it drops
// the path indexes, which cost about 45% of the import CPU at a million
// entries when maintained row by row, since their keys are hashes and
// every insert lands on a random page. The drop and the emptiness check
// are one transaction (the drop locks the table on PostgreSQL; SQLite's
// writer lock is taken at BEGIN), so a concurrent writer either made the
// catalog non-empty first or waits.
//
// Without the indexes lookups still answer correctly, by scanning: a
// reader during a bulk load is slow, never wrong. Rows are committed
// batch by batch as always, so a killed load leaves whole batches and
// the indexes come back at the next Open.
func (s *Store) BeginBulk(ctx context.Context) (bool, error) {
	if s.readOnly {
		return false, catalog.ErrReadOnly
	}
	empty := func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM images LIMIT 1").Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("%s catalog: bulk load: %w", s.d.Name, err)
		}
		return errNotEmpty
	}
	err := s.inTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		// Checked first so a filled catalog never pays for dropping (and
		// restoring) its indexes, and again once the drop holds the lock.
		if err := empty(tx); err != nil {
			return err
		}
		for _, name := range []string{"images_diff_path", "images_blob_path"} {
			if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+name); err != nil {
				return fmt.Errorf("%s catalog: bulk load: %w", s.d.Name, err)
			}
		}
		return empty(tx)
	})
	if errors.Is(err, errNotEmpty) {
		return false, nil
	}
	return err == nil, err
}

var errNotEmpty = errors.New("catalog not empty")

// Indexed reports whether both path indexes exist (for tests: a bulk load
// that never finished must not leave a catalog without them past Open).
func (s *Store) Indexed(ctx context.Context) (bool, error) {
	for _, name := range []string{"images_diff_path", "images_blob_path"} {
		var ok bool
		if err := s.db.QueryRowContext(ctx, s.bind(s.d.HasIndex), name).Scan(&ok); err != nil {
			return false, fmt.Errorf("%s catalog: %w", s.d.Name, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// EndBulk implements catalog.BulkLoader: it builds the path indexes
// (a no-op where they exist).
func (s *Store) EndBulk(ctx context.Context) error {
	if s.readOnly {
		return catalog.ErrReadOnly
	}
	for _, q := range append(append([]string(nil), lookupIndexes...), s.d.AfterBulk...) {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s catalog: after bulk load: %w", s.d.Name, err)
		}
	}
	return nil
}

// bindFor binds q for d before a Store exists.
func bindFor(d Dialect, q string) string { return (&Store{d: d}).bind(q) }
