// Package sqlstore is the one SQL implementation of catalog.Catalog behind
// both stores; catalog/sqlite and catalog/postgres differ only in driver,
// schema types and placeholder syntax, which a Dialect supplies.
//
// Layout: one row per entry in table images. Besides the full chains (32
// raw bytes per chain ID) each row carries a "path" per chain kind: the
// first 8 bytes of every chain ID, concatenated. The path of an image's
// first k layers is a byte prefix of its path, so one B-tree index on the
// path keys every prefix of every chain at the cost of one index entry per
// image:
//   - "which images are exactly my first k layers" is an equality probe
//     on path(k), one per candidate prefix (ByTop);
//   - "how deep does my chain go into the catalog" is answered by the two
//     index neighbours of my full path, since the longest common prefix
//     with a sorted set is found next to the probe (Shared).
//
// 8-byte truncation can collide; every hit is confirmed against the full
// chain IDs before it is returned.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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
	// RowAtATime writes with one prepared single-row statement per row
	// instead of multi-row statements: cheaper in-process (SQLite parses a
	// long VALUES list every time), costlier over a network.
	RowAtATime bool
}

// Store is a catalog.Catalog over database/sql.
type Store struct {
	db *sql.DB
	d  Dialect

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

// New wraps an open database, creating the schema.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	for _, q := range d.Schema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s catalog schema: %w", d.Name, err)
		}
	}
	return &Store{db: db, d: d}, nil
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

// row is an entry in storage form.
type row struct {
	e                    catalog.Entry
	diffChain, blobChain []byte
}

func toRow(e catalog.Entry) (row, error) {
	if err := e.ValidateShape(); err != nil {
		return row{}, err
	}
	r := row{e: e}
	var err error
	if r.diffChain, err = pack(e.ChainIDs); err != nil {
		return row{}, fmt.Errorf("catalog entry %s: %w", e.Ref(), err)
	}
	if r.blobChain, err = pack(e.BlobChainIDs); err != nil {
		return row{}, fmt.Errorf("catalog entry %s: %w", e.Ref(), err)
	}
	if r.e.Added.IsZero() {
		r.e.Added = time.Now().UTC()
	}
	return r, nil
}

func (r row) key() string {
	return r.e.Name + "\x00" + r.e.Tag + "\x00" + r.e.Platform + "\x00" + r.e.Ident()
}

func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

const columns = "name, tag, platform, ident, manifest_digest, index_digest, config_digest, layers, diff_path, blob_path, diff_chain, blob_chain, history, steps, source, added"

const numColumns = 16

// lookupColumns is columns with the per-layer history text left out
// (JSON null): lookups never show it, and decoding it was a sixth
// of a lookup's CPU.
var lookupColumns = strings.Replace(columns, "history,", "'null' AS history,", 1)

func (r row) args() ([]any, error) {
	hist, err := json.Marshal(r.e.History)
	if err != nil {
		return nil, err
	}
	steps, err := json.Marshal(r.e.Steps)
	if err != nil {
		return nil, err
	}
	return []any{
		r.e.Name, r.e.Tag, r.e.Platform, r.e.Ident(), r.e.ManifestDigest, r.e.IndexDigest, r.e.ConfigDigest,
		r.e.Layers(), nullable(path(r.diffChain)), nullable(path(r.blobChain)), nullable(r.diffChain), nullable(r.blobChain),
		string(hist), string(steps), r.e.Source, r.e.Added.UnixNano(),
	}, nil
}

// Add implements catalog.Catalog.
func (s *Store) Add(ctx context.Context, entries ...catalog.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	// The last of several entries with one key wins, as if added in turn.
	byKey := make(map[string]row, len(entries))
	for _, e := range entries {
		r, err := toRow(e)
		if err != nil {
			return err
		}
		byKey[r.key()] = r
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	// One global order for row locks, so concurrent writers on a server
	// store wait for each other instead of deadlocking.
	sort.Strings(keys)
	rows := make([]row, len(keys))
	for i, k := range keys {
		rows[i] = byKey[k]
	}
	return s.retry(ctx, func(tx *sql.Tx) error { return s.add(ctx, tx, rows) })
}

func (s *Store) retry(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.inTx(ctx, fn)
		if err == nil || s.d.Retryable == nil || !s.d.Retryable(err) {
			return err
		}
		time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
	}
	return err
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s catalog: begin: %w", s.d.Name, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s catalog: commit: %w", s.d.Name, err)
	}
	return nil
}

func (s *Store) add(ctx context.Context, tx *sql.Tx, rows []row) error {
	inserted, err := s.insertNew(ctx, tx, rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !inserted[r.key()] {
			// Re-adding a known entry replaces it.
			if err := s.replace(ctx, tx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

const insertImage = "INSERT INTO images (" + columns + ") VALUES "

// insertNew inserts the rows whose key is not stored yet and returns the
// keys it inserted.
func (s *Store) insertNew(ctx context.Context, tx *sql.Tx, rows []row) (map[string]bool, error) {
	inserted := make(map[string]bool, len(rows))
	if s.d.RowAtATime {
		st, err := tx.PrepareContext(ctx, s.bind(insertImage+"("+placeholders(numColumns)+") ON CONFLICT (name, tag, platform, ident) DO NOTHING"))
		if err != nil {
			return nil, fmt.Errorf("%s catalog: insert images: %w", s.d.Name, err)
		}
		defer st.Close()
		for _, r := range rows {
			a, err := r.args()
			if err != nil {
				return nil, err
			}
			res, err := st.ExecContext(ctx, a...)
			if err != nil {
				return nil, fmt.Errorf("%s catalog: insert %s: %w", s.d.Name, r.e.Ref(), err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				inserted[r.key()] = true
			}
		}
		return inserted, nil
	}
	per := max(1, s.d.MaxParams/numColumns)
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(len(rows), start+per)]
		args := make([]any, 0, len(chunk)*numColumns)
		vals := make([]string, len(chunk))
		for i, r := range chunk {
			a, err := r.args()
			if err != nil {
				return nil, err
			}
			args = append(args, a...)
			vals[i] = "(" + placeholders(numColumns) + ")"
		}
		q := insertImage + strings.Join(vals, ",") +
			" ON CONFLICT (name, tag, platform, ident) DO NOTHING RETURNING name, tag, platform, ident"
		res, err := tx.QueryContext(ctx, s.bind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("%s catalog: insert images: %w", s.d.Name, err)
		}
		for res.Next() {
			var n, t, p, id string
			if err := res.Scan(&n, &t, &p, &id); err != nil {
				res.Close()
				return nil, err
			}
			inserted[n+"\x00"+t+"\x00"+p+"\x00"+id] = true
		}
		if err := res.Close(); err != nil {
			return nil, fmt.Errorf("%s catalog: insert images: %w", s.d.Name, err)
		}
	}
	return inserted, nil
}

// replace overwrites the stored row with r's key.
func (s *Store) replace(ctx context.Context, tx *sql.Tx, r row) error {
	a, err := r.args()
	if err != nil {
		return err
	}
	set := strings.Split(columns, ", ")
	for i := range set {
		set[i] += " = ?"
	}
	q := "UPDATE images SET " + strings.Join(set, ", ") + " WHERE name = ? AND tag = ? AND platform = ? AND ident = ?"
	if _, err := tx.ExecContext(ctx, s.bind(q), append(a, r.e.Name, r.e.Tag, r.e.Platform, r.e.Ident())...); err != nil {
		return fmt.Errorf("%s catalog: replace %s: %w", s.d.Name, r.e.Ref(), err)
	}
	return nil
}

func pathColumn(k catalog.Kind) string {
	if k == catalog.BlobChain {
		return "blob_path"
	}
	return "diff_path"
}

// ByTop implements catalog.Catalog.
func (s *Store) ByTop(ctx context.Context, k catalog.Kind, ids []string) ([]catalog.Entry, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	chain, err := pack(ids)
	if err != nil {
		return nil, err
	}
	full := path(chain)
	args := make([]any, len(ids))
	for i := range ids {
		args[i] = full[:(i+1)*pathLen]
	}
	st, err := s.prepared(ctx, s.bind("SELECT "+lookupColumns+" FROM images WHERE "+pathColumn(k)+" IN ("+placeholders(len(ids))+")"))
	if err != nil {
		return nil, fmt.Errorf("%s catalog: %w", s.d.Name, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%s catalog: %w", s.d.Name, err)
	}
	found, err := collect(rows)
	if err != nil {
		return nil, err
	}
	out := found[:0]
	for _, e := range found {
		c := e.Chain(k)
		if n := len(c); n > 0 && n <= len(ids) && c[n-1] == ids[n-1] {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Layers(), out[j].Layers(); a != b {
			return a > b
		}
		return catalog.Less(out[i], out[j])
	})
	return out, nil
}

// Shared implements catalog.Catalog.
func (s *Store) Shared(ctx context.Context, k catalog.Kind, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	chain, err := pack(ids)
	if err != nil {
		return 0, err
	}
	p := path(chain)
	col := pathColumn(k)
	chainCol := "diff_chain"
	if k == catalog.BlobChain {
		chainCol = "blob_chain"
	}
	best := 0
	for _, q := range []string{
		"SELECT " + chainCol + " FROM images WHERE " + col + " >= ? ORDER BY " + col + " LIMIT 1",
		"SELECT " + chainCol + " FROM images WHERE " + col + " < ? ORDER BY " + col + " DESC LIMIT 1",
	} {
		var got []byte
		st, err := s.prepared(ctx, s.bind(q))
		if err != nil {
			return 0, fmt.Errorf("%s catalog: shared prefix: %w", s.d.Name, err)
		}
		err = st.QueryRowContext(ctx, p).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("%s catalog: shared prefix: %w", s.d.Name, err)
		}
		n := 0
		for n*32+32 <= len(got) && n*32+32 <= len(chain) && string(got[n*32:n*32+32]) == string(chain[n*32:n*32+32]) {
			n++
		}
		best = max(best, n)
	}
	return best, nil
}

func where(f catalog.Filter) (string, []any) {
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
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
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
