package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/strata-tool/strata/catalog"
)

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
	if s.readOnly {
		return catalog.ErrReadOnly
	}
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
	return s.retry(ctx, func(conn *sql.Conn, tx *sql.Tx) error { return s.add(ctx, conn, tx, rows) })
}

func (s *Store) retry(ctx context.Context, fn func(*sql.Conn, *sql.Tx) error) error {
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

// inTx runs fn in a transaction on one pinned connection, which Copy
// needs in order to write inside the transaction.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Conn, *sql.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s catalog: connect: %w", s.d.Name, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s catalog: begin: %w", s.d.Name, err)
	}
	if err := fn(conn, tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s catalog: commit: %w", s.d.Name, err)
	}
	return nil
}

func (s *Store) add(ctx context.Context, conn *sql.Conn, tx *sql.Tx, rows []row) error {
	insert := s.insertNew
	if s.d.Copy != nil {
		insert = func(ctx context.Context, tx *sql.Tx, rows []row) (map[string]bool, error) {
			return s.insertCopied(ctx, conn, tx, rows)
		}
	}
	inserted, err := insert(ctx, tx, rows)
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

// insertCopied is insertNew through the dialect's bulk copy.
func (s *Store) insertCopied(ctx context.Context, conn *sql.Conn, tx *sql.Tx, rows []row) (map[string]bool, error) {
	if _, err := tx.ExecContext(ctx, s.d.Stage); err != nil {
		return nil, fmt.Errorf("%s catalog: staging table: %w", s.d.Name, err)
	}
	data := make([][]any, len(rows))
	for i, r := range rows {
		a, err := r.args()
		if err != nil {
			return nil, err
		}
		data[i] = a
	}
	if err := s.d.Copy(ctx, conn, "images_stage", strings.Split(columns, ", "), data); err != nil {
		return nil, fmt.Errorf("%s catalog: copy %d entries: %w", s.d.Name, len(rows), err)
	}
	// Key order, as in insertNew: concurrent writers lock rows in one order.
	res, err := tx.QueryContext(ctx, "INSERT INTO images ("+columns+") SELECT "+columns+
		" FROM images_stage ORDER BY name, tag, platform, ident ON CONFLICT (name, tag, platform, ident) DO NOTHING RETURNING name, tag, platform, ident")
	if err != nil {
		return nil, fmt.Errorf("%s catalog: insert images: %w", s.d.Name, err)
	}
	defer res.Close()
	inserted := make(map[string]bool, len(rows))
	for res.Next() {
		var n, t, p, id string
		if err := res.Scan(&n, &t, &p, &id); err != nil {
			return nil, err
		}
		inserted[n+"\x00"+t+"\x00"+p+"\x00"+id] = true
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("%s catalog: insert images: %w", s.d.Name, err)
	}
	return inserted, nil
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
