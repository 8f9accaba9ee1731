// Package sqlstore is the one SQL implementation of catalog.Catalog behind
// both stores; catalog/sqlite and catalog/postgres differ only in driver,
// schema types and placeholder syntax, which a Dialect supplies.
//
// Layout: one row per entry in table images. Besides the full chains (32
// raw bytes per chain ID) each row carries a "path" per chain kind: the
// first pathLen bytes of every chain ID, concatenated. The path of an image's
// first k layers is a byte prefix of its path, so one B-tree index on the
// path keys every prefix of every chain at the cost of one index entry per
// image:
//   - "which images are exactly my first k layers" is an equality probe
//     on path(k), one per candidate prefix (ByTop);
//   - "how deep does my chain go into the catalog" is answered by the
//     index neighbours of my full path, since the longest common prefix
//     with a sorted set is found next to the probe (Shared).
//
// Paths keep pathLen bytes of each chain ID, so they collide: every hit
// is confirmed against the full chain IDs before it is returned, and
// Shared walks past look-alike neighbours.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/strata-tool/strata/catalog"
)

// Dialect is what differs between SQL engines.
type Dialect struct {
	Name string
	// Schema statements, run in order at Open (idempotent).
	Schema []string
	// Placeholder renders the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// MaxParams bounds the parameters of one statement.
	MaxParams int
	// Retryable reports errors worth retrying the whole transaction for
	// (deadlock, serialization failure, busy).
	Retryable func(error) bool
	// Copy, when set, bulk-loads rows into table over conn, the
	// connection holding the open transaction (PostgreSQL's COPY): Add
	// then stages each batch and inserts it with one INSERT … SELECT,
	// instead of binding a parameter per column per row.
	Copy func(ctx context.Context, conn *sql.Conn, table string, columns []string, rows [][]any) error
	// Stage creates the session's staging table for Copy, if missing;
	// its rows must go at commit.
	Stage string
	// AfterBulk runs after a bulk load has built the indexes: PostgreSQL
	// planned lookups on a million-row table with an empty table's
	// statistics until autovacuum caught up.
	AfterBulk []string
	// HasTable is a query returning whether the table named by its one
	// parameter exists.
	HasTable string
	// Columns is a query listing the columns of the table named by its
	// one parameter.
	Columns string
	// OtherTables, where set, lists tables that are neither strata's nor
	// the engine's: in an embedded file any is another program's, while
	// a server database is routinely shared (PostgreSQL leaves it empty).
	OtherTables string
	// Stamp statements mark a database as strata's, run at every
	// read-write open (SQLite's application_id).
	Stamp []string
	// HasIndex is a query returning whether the index named by its one
	// parameter exists.
	HasIndex string
	// RowAtATime writes with one prepared single-row statement per row
	// instead of multi-row statements: cheaper in-process (SQLite parses a
	// long VALUES list every time), costlier over a network.
	RowAtATime bool
	// AutoID is the column type of an auto-increment primary key.
	AutoID string
	// Blob is the column type of a byte string (layer indexes).
	Blob string
	// SkipLocked, where the engine has row locks, is appended to a
	// claiming SELECT (" FOR UPDATE SKIP LOCKED"): a crawl job then stays
	// locked by its worker's transaction until done. Empty: jobs are
	// leased (SQLite, one writer at a time).
	SkipLocked string
}

// Store is a catalog.Catalog over database/sql.
type Store struct {
	db       *sql.DB
	d        Dialect
	readOnly bool

	// Lookups are prepared once per distinct query text (one per chain
	// length): parsing SQL was an eighth of a lookup's CPU.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns a cached prepared statement for q (already bound).
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
}

// DB exposes the handle for store-specific checks.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// bind rewrites "?" placeholders into the dialect's form.
func (s *Store) bind(q string) string {
	if s.d.Placeholder == nil {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString(s.d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func where(f catalog.Filter) (string, []any) {
	conds, args := conditions(f)
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func conditions(f catalog.Filter) ([]string, []any) {
	var conds []string
	var args []any
	if f.Name != "" {
		conds = append(conds, "name = ?")
		args = append(args, f.Name)
	}
	if f.Tag != "" {
		conds = append(conds, "tag = ?")
		args = append(args, f.Tag)
	}
	if f.Digest != "" {
		conds = append(conds, "(manifest_digest = ? OR index_digest = ? OR config_digest = ?)")
		args = append(args, f.Digest, f.Digest, f.Digest)
	}
	return conds, args
}

// Digests implements catalog.Catalog. substr compares bytes exactly on
// both engines, where LIKE would treat "_" as a wildcard and, in SQLite,
// ignore case.
func (s *Store) Digests(ctx context.Context, f catalog.Filter, prefix string) ([]string, error) {
	if f.Digest != "" {
		return nil, errors.New("digests: the filter already names a digest")
	}
	conds, fargs := conditions(f)
	var parts []string
	var args []any
	for _, col := range []string{"manifest_digest", "index_digest", "config_digest"} {
		c := append(append([]string(nil), conds...), fmt.Sprintf("substr(%s, 1, %d) = ?", col, len(prefix)))
		parts = append(parts, "SELECT "+col+" AS d FROM images WHERE "+strings.Join(c, " AND "))
		args = append(append(args, fargs...), prefix)
	}
	q := "SELECT d FROM (" + strings.Join(parts, " UNION ") + ") AS u ORDER BY d"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.bind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s catalog: digests: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("%s catalog: digests: %w", s.d.Name, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// List implements catalog.Catalog.
func (s *Store) List(ctx context.Context, f catalog.Filter) ([]catalog.Entry, error) {
	w, args := where(f)
	q := "SELECT " + columns + " FROM images" + w + " ORDER BY name, tag, platform, ident"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return s.query(ctx, q, args...)
}

// Each implements catalog.Catalog.
func (s *Store) Each(ctx context.Context, fn func(catalog.Entry) error) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+columns+" FROM images ORDER BY name, tag, platform, ident")
	if err != nil {
		return fmt.Errorf("%s catalog: %w", s.d.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(r.e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Remove implements catalog.Catalog.
func (s *Store) Remove(ctx context.Context, f catalog.Filter) (int, error) {
	if s.readOnly {
		return 0, catalog.ErrReadOnly
	}
	if f == (catalog.Filter{}) {
		return 0, errors.New("remove: refusing an empty filter (it would empty the catalog)")
	}
	w, args := where(f)
	res, err := s.db.ExecContext(ctx, s.bind("DELETE FROM images"+w), args...)
	if err != nil {
		return 0, fmt.Errorf("%s catalog: remove: %w", s.d.Name, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Count implements catalog.Catalog.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM images").Scan(&n); err != nil {
		return 0, fmt.Errorf("%s catalog: count: %w", s.d.Name, err)
	}
	return n, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]catalog.Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s catalog: %w", s.d.Name, err)
	}
	return collect(rows)
}

func collect(rows *sql.Rows) ([]catalog.Entry, error) {
	defer rows.Close()
	var out []catalog.Entry
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r.e)
	}
	return out, rows.Err()
}

func scan(rows *sql.Rows) (row, error) {
	var (
		r                  row
		ident              string
		layers             int
		diffPath, blobPath []byte
		hist, steps        string
		added              int64
	)
	err := rows.Scan(&r.e.Name, &r.e.Tag, &r.e.Platform, &ident, &r.e.ManifestDigest, &r.e.IndexDigest, &r.e.ConfigDigest,
		&layers, &diffPath, &blobPath, &r.diffChain, &r.blobChain, &hist, &steps, &r.e.Source, &added)
	if err != nil {
		return r, fmt.Errorf("catalog: read entry: %w", err)
	}
	if err := json.Unmarshal([]byte(steps), &r.e.Steps); err != nil {
		return r, fmt.Errorf("catalog: entry %s: steps: %w", r.e.Ref(), err)
	}
	if r.e.ChainIDs, err = unpack(r.diffChain); err != nil {
		return r, fmt.Errorf("catalog: entry %s: %w", r.e.Ref(), err)
	}
	if r.e.BlobChainIDs, err = unpack(r.blobChain); err != nil {
		return r, fmt.Errorf("catalog: entry %s: %w", r.e.Ref(), err)
	}
	if len(r.e.ChainIDs) == 0 {
		r.e.ChainIDs = nil
	}
	if len(r.e.BlobChainIDs) == 0 {
		r.e.BlobChainIDs = nil
	}
	if err := json.Unmarshal([]byte(hist), &r.e.History); err != nil {
		return r, fmt.Errorf("catalog: entry %s: history: %w", r.e.Ref(), err)
	}
	r.e.Added = time.Unix(0, added).UTC()
	return r, nil
}

// Check verifies what a crash must not break: every row decodes, and
// its path columns agree with its chains (so the index finds it).
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+columns+" FROM images")
	if err != nil {
		return fmt.Errorf("%s catalog check: %w", s.d.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                  row
			ident              string
			layers             int
			diffPath, blobPath []byte
			hist, steps        string
			added              int64
		)
		if err := rows.Scan(&r.e.Name, &r.e.Tag, &r.e.Platform, &ident, &r.e.ManifestDigest, &r.e.IndexDigest, &r.e.ConfigDigest,
			&layers, &diffPath, &blobPath, &r.diffChain, &r.blobChain, &hist, &steps, &r.e.Source, &added); err != nil {
			return fmt.Errorf("%s catalog check: %w", s.d.Name, err)
		}
		if string(diffPath) != string(path(r.diffChain)) || string(blobPath) != string(path(r.blobChain)) {
			return fmt.Errorf("%s catalog check: %s/%s: path does not match its chain", s.d.Name, r.e.Name, r.e.Tag)
		}
		if len(r.diffChain)%32 != 0 || len(r.blobChain)%32 != 0 || max(len(r.diffChain), len(r.blobChain))/32 != layers {
			return fmt.Errorf("%s catalog check: %s/%s: chains do not cover %d layers", s.d.Name, r.e.Name, r.e.Tag, layers)
		}
		var h []string
		if err := json.Unmarshal([]byte(hist), &h); err != nil {
			return fmt.Errorf("%s catalog check: %s/%s: history: %w", s.d.Name, r.e.Name, r.e.Tag, err)
		}
		if err := json.Unmarshal([]byte(steps), &h); err != nil {
			return fmt.Errorf("%s catalog check: %s/%s: steps: %w", s.d.Name, r.e.Name, r.e.Tag, err)
		}
	}
	return rows.Err()
}
