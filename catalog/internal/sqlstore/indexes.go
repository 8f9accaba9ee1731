package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/strata-tool/strata/catalog"
)

// indexSchema is the layer index table: an encoded index (package
// layerindex's Marshal bytes) per layer digest, for servers and runners
// that share their indexes through the catalog's database. Times are Unix
// nanoseconds, as in the crawl tables.
func indexSchema(blob string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS layer_indexes (
			digest TEXT PRIMARY KEY, data ` + blob + ` NOT NULL,
			size BIGINT NOT NULL, last_used BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS layer_indexes_used ON layer_indexes (last_used)`,
	}
}

// touchEvery is how stale a row's last_used may get before a Get writes
// it again: eviction order is exact to the minute, and a busy server does
// not turn every read into a write.
const touchEvery = time.Minute

// Indexes is the layer index table through one Store: bytes by digest,
// held under MaxBytes by evicting the least recently used rows. It knows
// nothing of the encoding (see layerindex.NewBytesStore).
type Indexes struct {
	s   *Store
	max int64
	// table: the table is known to exist. A read-write open creates it; a
	// read-only one may find a catalog written before it existed, and
	// looks again until it appears.
	table atomic.Bool
}

// Indexes returns the layer index table bounded to maxBytes (<= 0: no
// bound).
func (s *Store) Indexes(maxBytes int64) *Indexes {
	ix := &Indexes{s: s, max: maxBytes}
	ix.table.Store(!s.readOnly)
	return ix
}

// ReadOnly reports whether PutIndex is refused.
func (ix *Indexes) ReadOnly() bool { return ix.s.readOnly }

func (ix *Indexes) err(what string, err error) error {
	return fmt.Errorf("%s catalog: layer index %s: %w", ix.s.d.Name, what, err)
}

func (ix *Indexes) exists(ctx context.Context) (bool, error) {
	if ix.table.Load() {
		return true, nil
	}
	var ok bool
	if err := ix.s.db.QueryRowContext(ctx, ix.s.bind(ix.s.d.HasTable), "layer_indexes").Scan(&ok); err != nil {
		return false, ix.err("table", err)
	}
	if ok {
		ix.table.Store(true)
	}
	return ok, nil
}

// GetIndex returns the bytes kept for digest; found is false when there
// are none (or, read-only, no table yet). A row read a minute or more
// after its last use is marked used now.
func (ix *Indexes) GetIndex(ctx context.Context, digest string) (b []byte, found bool, err error) {
	if ok, err := ix.exists(ctx); !ok || err != nil {
		return nil, false, err
	}
	var used int64
	err = ix.s.db.QueryRowContext(ctx, ix.s.bind("SELECT data, last_used FROM layer_indexes WHERE digest = ?"), digest).Scan(&b, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ix.err("get "+digest, err)
	}
	now := time.Now()
	if !ix.s.readOnly && now.Sub(time.Unix(0, used)) >= touchEvery {
		// Conditional, so replicas reading the same row write it once;
		// failing only weakens eviction order.
		_, _ = ix.s.db.ExecContext(ctx, ix.s.bind("UPDATE layer_indexes SET last_used = ? WHERE digest = ? AND last_used < ?"),
			now.UnixNano(), digest, now.Add(-touchEvery).UnixNano())
	}
	return b, true, nil
}

// PutIndex keeps b under digest, replacing what was there (two processes
// putting the same digest both succeed, the last one's bytes stay), then
// evicts past the bound. A read-only store refuses with
// catalog.ErrReadOnly, which layer indexing treats like any failure to
// cache: the index was built, just not kept.
func (ix *Indexes) PutIndex(ctx context.Context, digest string, b []byte) error {
	if ix.s.readOnly {
		return catalog.ErrReadOnly
	}
	q := ix.s.bind(`INSERT INTO layer_indexes (digest, data, size, last_used) VALUES (?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET data = excluded.data, size = excluded.size, last_used = excluded.last_used`)
	err := ix.s.retry(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q, digest, b, len(b), time.Now().UnixNano())
		return err
	})
	if err != nil {
		return ix.err("put "+digest, err)
	}
	return ix.evict(ctx)
}

// evict removes the least recently used rows until the table is back
// under 90 % of the bound (so a full table is not swept on every Put).
// Replicas evicting at once may remove a little more than needed, never
// fail: deleting a row another already deleted deletes nothing.
func (ix *Indexes) evict(ctx context.Context) error {
	if ix.max <= 0 {
		return nil
	}
	total, err := ix.Total(ctx)
	if err != nil || total <= ix.max {
		return err
	}
	rows, err := ix.s.db.QueryContext(ctx, "SELECT digest, size FROM layer_indexes ORDER BY last_used, digest")
	if err != nil {
		return ix.err("evict", err)
	}
	var drop []any
	for total > ix.max*9/10 && rows.Next() {
		var d string
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			rows.Close()
			return ix.err("evict", err)
		}
		drop = append(drop, d)
		total -= n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ix.err("evict", err)
	}
	for len(drop) > 0 {
		n := min(len(drop), ix.s.d.MaxParams)
		if _, err := ix.s.db.ExecContext(ctx, ix.s.bind("DELETE FROM layer_indexes WHERE digest IN ("+placeholders(n)+")"), drop[:n]...); err != nil {
			return ix.err("evict", err)
		}
		drop = drop[n:]
	}
	return nil
}

// Total is the size of every index kept, in bytes.
func (ix *Indexes) Total(ctx context.Context) (int64, error) {
	if ok, err := ix.exists(ctx); !ok || err != nil {
		return 0, err
	}
	var n int64
	if err := ix.s.db.QueryRowContext(ctx, "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM layer_indexes").Scan(&n); err != nil {
		return 0, ix.err("total", err)
	}
	return n, nil
}
