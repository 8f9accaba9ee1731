package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SchemaVersion is the storage layout this code reads and writes. Version
// 1 (no version row) kept 8 bytes of each chain ID in its paths; read with
// today's 2-byte paths it would miss every match, so it is refused.
const SchemaVersion = 2

// New wraps an open database, creating the schema in an empty one and
// refusing one written in another layout.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS strata_catalog_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"); err != nil {
		return nil, fmt.Errorf("%s catalog schema: %w", d.Name, err)
	}
	var v int
	err := db.QueryRowContext(ctx, "SELECT value FROM strata_catalog_meta WHERE key = 'schema'").Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var old bool
		if err := db.QueryRowContext(ctx, d.HasImages).Scan(&old); err != nil {
			return nil, fmt.Errorf("%s catalog schema: %w", d.Name, err)
		}
		if old {
			return nil, fmt.Errorf("%s catalog: written by an older strata (schema version 1); this strata reads version %d: remove it and add the images again", d.Name, SchemaVersion)
		}
		// The version goes in before the tables, so a concurrent opener
		// never sees tables without it.
		if _, err := db.ExecContext(ctx, bindFor(d, "INSERT INTO strata_catalog_meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO NOTHING"), SchemaVersion); err != nil {
			return nil, fmt.Errorf("%s catalog schema: %w", d.Name, err)
		}
	case err != nil:
		return nil, fmt.Errorf("%s catalog schema: %w", d.Name, err)
	case v != SchemaVersion:
		return nil, fmt.Errorf("%s catalog: schema version %d, this strata reads version %d", d.Name, v, SchemaVersion)
	}
	// The indexes come last: a bulk load killed before rebuilding them
	// (see BeginBulk) gets them back at the next Open.
	for _, q := range append(append([]string(nil), d.Schema...), lookupIndexes...) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s catalog schema: %w", d.Name, err)
		}
	}
	return &Store{db: db, d: d}, nil
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
	for _, q := range append(append([]string(nil), lookupIndexes...), s.d.AfterBulk...) {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s catalog: after bulk load: %w", s.d.Name, err)
		}
	}
	return nil
}

// bindFor binds q for d before a Store exists.
func bindFor(d Dialect, q string) string { return (&Store{d: d}).bind(q) }
