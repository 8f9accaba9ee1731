package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/strata-tool/strata/catalog"
)

// crawlSchema is the crawl state, in SQL both engines read; id is the
// dialect's auto-increment key type. Times are Unix nanoseconds.
func crawlSchema(id string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS crawl_watch (
			repo TEXT NOT NULL, tag TEXT NOT NULL,
			next_poll BIGINT NOT NULL DEFAULT 0, last_poll BIGINT NOT NULL DEFAULT 0, problem TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (repo, tag))`,
		`CREATE TABLE IF NOT EXISTS crawl_tokens (repo TEXT PRIMARY KEY, token_hash TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS crawl_tags (
			repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, seen BIGINT NOT NULL,
			PRIMARY KEY (repo, tag))`,
		`CREATE TABLE IF NOT EXISTS crawl_jobs (
			id ` + id + `, repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
			queued BIGINT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, not_before BIGINT NOT NULL DEFAULT 0,
			owner TEXT NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0, problem TEXT NOT NULL DEFAULT '',
			UNIQUE (repo, tag, digest))`,
		`CREATE INDEX IF NOT EXISTS crawl_jobs_due ON crawl_jobs (not_before, id)`,
		`CREATE TABLE IF NOT EXISTS crawl_done (
			id ` + id + `, repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
			worker TEXT NOT NULL, entries INTEGER NOT NULL, problem TEXT NOT NULL, finished BIGINT NOT NULL)`,
	}
}

// jobLease bounds how long a leased job (SQLite) stays claimed, and how
// long a PostgreSQL session may sit in a job's transaction: a worker's
// job context ends well before (see server), so only a dead or frozen
// worker's job outlives it.
const jobLease = 2 * time.Minute

// EnsureCrawl implements catalog.Crawler.
func (s *Store) EnsureCrawl(ctx context.Context) error {
	if s.readOnly {
		return catalog.ErrReadOnly
	}
	// Servers starting together race to create the tables; PostgreSQL's
	// IF NOT EXISTS can still fail on the loser's catalog entries (a
	// unique violation), and a second attempt sees the tables.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.createCrawl(ctx); err == nil || s.d.Retryable == nil || !s.d.Retryable(err) {
			return err
		}
		time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
	}
	return err
}

func (s *Store) createCrawl(ctx context.Context) error {
	for _, q := range crawlSchema(s.d.AutoID) {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s catalog: crawl schema: %w", s.d.Name, err)
		}
	}
	return nil
}

func (s *Store) crawlErr(what string, err error) error {
	return fmt.Errorf("%s catalog: %s: %w", s.d.Name, what, err)
}

// Watch implements catalog.Crawler.
func (s *Store) Watch(ctx context.Context, ws ...catalog.Watch) error {
	return s.retry(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		for _, w := range ws {
			if _, err := tx.ExecContext(ctx, s.bind("INSERT INTO crawl_watch (repo, tag) VALUES (?, ?) ON CONFLICT (repo, tag) DO NOTHING"), w.Repo, w.Tag); err != nil {
				return s.crawlErr("watch "+w.Repo, err)
			}
		}
		return nil
	})
}

// Watched implements catalog.Crawler.
func (s *Store) Watched(ctx context.Context) ([]catalog.Watch, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT repo, tag, next_poll, last_poll, problem FROM crawl_watch ORDER BY repo, tag")
	if err != nil {
		return nil, s.crawlErr("watch list", err)
	}
	defer rows.Close()
	var out []catalog.Watch
	for rows.Next() {
		var w catalog.Watch
		var next, last int64
		if err := rows.Scan(&w.Repo, &w.Tag, &next, &last, &w.Problem); err != nil {
			return nil, s.crawlErr("watch list", err)
		}
		w.NextPoll, w.LastPoll = fromNanos(next), fromNanos(last)
		out = append(out, w)
	}
	return out, rows.Err()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ClaimPoll implements catalog.Crawler. The claim is one conditional
// UPDATE: of two replicas racing for a row, the second finds next_poll
// already moved and updates nothing.
func (s *Store) ClaimPoll(ctx context.Context, now time.Time, lease time.Duration) (catalog.Watch, bool, error) {
	var w catalog.Watch
	found := false
	err := s.retry(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		found = false
		q := "SELECT repo, tag FROM crawl_watch WHERE next_poll <= ? ORDER BY next_poll, repo, tag LIMIT 1" + s.d.SkipLocked
		err := tx.QueryRowContext(ctx, s.bind(q), now.UnixNano()).Scan(&w.Repo, &w.Tag)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return s.crawlErr("claim poll", err)
		}
		res, err := tx.ExecContext(ctx, s.bind("UPDATE crawl_watch SET next_poll = ? WHERE repo = ? AND tag = ? AND next_poll <= ?"),
			now.Add(lease).UnixNano(), w.Repo, w.Tag, now.UnixNano())
		if err != nil {
			return s.crawlErr("claim poll", err)
		}
		n, _ := res.RowsAffected()
		found = n == 1
		return nil
	})
	return w, found, err
}

// PollDone implements catalog.Crawler.
func (s *Store) PollDone(ctx context.Context, w catalog.Watch, now, next time.Time, problem string) error {
	_, err := s.db.ExecContext(ctx, s.bind("UPDATE crawl_watch SET last_poll = ?, next_poll = ?, problem = ? WHERE repo = ? AND tag = ?"),
		now.UnixNano(), next.UnixNano(), problem, w.Repo, w.Tag)
	if err != nil {
		return s.crawlErr("poll done", err)
	}
	return nil
}

// Poke implements catalog.Crawler.
func (s *Store) Poke(ctx context.Context, repo string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.bind("UPDATE crawl_watch SET next_poll = 0 WHERE repo = ?"), repo)
	if err != nil {
		return false, s.crawlErr("poke", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetToken implements catalog.Crawler.
func (s *Store) SetToken(ctx context.Context, repo, hash string) error {
	_, err := s.db.ExecContext(ctx, s.bind("INSERT INTO crawl_tokens (repo, token_hash) VALUES (?, ?) ON CONFLICT (repo) DO UPDATE SET token_hash = excluded.token_hash"), repo, hash)
	if err != nil {
		return s.crawlErr("set token", err)
	}
	return nil
}

// TokenHash implements catalog.Crawler.
func (s *Store) TokenHash(ctx context.Context, repo string) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, s.bind("SELECT token_hash FROM crawl_tokens WHERE repo = ?"), repo).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.crawlErr("token", err)
	}
	return h, nil
}

// SawTag implements catalog.Crawler: the upsert changes the row only when
// the digest differs, and returns it only then, so of several replicas
// that see the same new digest exactly one queues it.
func (s *Store) SawTag(ctx context.Context, repo, tag, digest string, now time.Time) (bool, error) {
	queued := false
	err := s.retry(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		queued = false
		rows, err := tx.QueryContext(ctx, s.bind(`INSERT INTO crawl_tags (repo, tag, digest, seen) VALUES (?, ?, ?, ?)
			ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, seen = excluded.seen
			WHERE crawl_tags.digest <> excluded.digest RETURNING repo`), repo, tag, digest, now.UnixNano())
		if err != nil {
			return s.crawlErr("saw tag", err)
		}
		changed := rows.Next()
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.crawlErr("saw tag", err)
		}
		if !changed {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.bind("INSERT INTO crawl_jobs (repo, tag, digest, queued) VALUES (?, ?, ?, ?) ON CONFLICT (repo, tag, digest) DO NOTHING"),
			repo, tag, digest, now.UnixNano()); err != nil {
			return s.crawlErr("queue job", err)
		}
		queued = true
		return nil
	})
	return queued, err
}

const jobColumns = "id, repo, tag, digest, attempts, queued"

func scanJob(r interface{ Scan(...any) error }) (catalog.Job, error) {
	var j catalog.Job
	var queued int64
	err := r.Scan(&j.ID, &j.Repo, &j.Tag, &j.Digest, &j.Attempts, &queued)
	j.Queued = fromNanos(queued)
	return j, err
}

// Work implements catalog.Crawler. On PostgreSQL the job's row stays
// locked (FOR UPDATE SKIP LOCKED) in a transaction that also commits the
// catalog entries and the completion: other workers skip it, and a worker
// that dies rolls everything back, which frees the row at once. SQLite
// has one writer at a time, so a job is leased instead (claimed in one
// short transaction, completed in another that checks the lease is still
// this worker's); a dead worker's lease runs out and the job is claimed
// again.
func (s *Store) Work(ctx context.Context, worker string, now time.Time, fn func(context.Context, catalog.Job) ([]catalog.Entry, error)) (bool, error) {
	if s.readOnly {
		return false, catalog.ErrReadOnly
	}
	if s.d.SkipLocked != "" {
		return s.workLocked(ctx, worker, now, fn)
	}
	return s.workLeased(ctx, worker, now, fn)
}

func (s *Store) workLocked(ctx context.Context, worker string, now time.Time, fn func(context.Context, catalog.Job) ([]catalog.Entry, error)) (bool, error) {
	found := false
	err := s.inTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL idle_in_transaction_session_timeout = %d", jobLease.Milliseconds())); err != nil {
			return s.crawlErr("claim job", err)
		}
		j, err := scanJob(tx.QueryRowContext(ctx, s.bind("SELECT "+jobColumns+" FROM crawl_jobs WHERE not_before <= ? ORDER BY not_before, id LIMIT 1"+s.d.SkipLocked), now.UnixNano()))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return s.crawlErr("claim job", err)
		}
		found = true
		entries, ferr := fn(ctx, j)
		return s.complete(ctx, conn, tx, now, worker, j, j.Attempts+1, entries, ferr)
	})
	return found, err
}

func (s *Store) workLeased(ctx context.Context, worker string, now time.Time, fn func(context.Context, catalog.Job) ([]catalog.Entry, error)) (bool, error) {
	owner := fmt.Sprintf("%s/%d", worker, now.UnixNano())
	var j catalog.Job
	found := false
	err := s.retry(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, s.bind(`UPDATE crawl_jobs SET owner = ?, lease_until = ?, attempts = attempts + 1
			WHERE id = (SELECT id FROM crawl_jobs WHERE not_before <= ? AND lease_until <= ? ORDER BY not_before, id LIMIT 1)
			RETURNING `+jobColumns), owner, now.Add(jobLease).UnixNano(), now.UnixNano(), now.UnixNano()))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return s.crawlErr("claim job", err)
		}
		found = true
		return nil
	})
	if err != nil || !found {
		return found, err
	}
	entries, ferr := fn(ctx, j)
	err = s.retry(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, s.bind("SELECT owner FROM crawl_jobs WHERE id = ?"), j.ID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) || err == nil && cur != owner {
			// The lease ran out and another worker has (or had) it:
			// committing here too would index it twice.
			return errLeaseLost
		}
		if err != nil {
			return s.crawlErr("complete job", err)
		}
		return s.complete(ctx, conn, tx, now, worker, j, j.Attempts, entries, ferr)
	})
	if errors.Is(err, errLeaseLost) {
		return true, nil
	}
	return true, err
}

var errLeaseLost = errors.New("job lease lost")

// complete records a job's outcome in tx: on success its entries are
// added and the job moves to crawl_done; on failure it is retried later,
// or after MaxAttempts moves to crawl_done with the error.
func (s *Store) complete(ctx context.Context, conn *sql.Conn, tx *sql.Tx, now time.Time, worker string, j catalog.Job, attempts int, entries []catalog.Entry, ferr error) error {
	if ferr != nil && attempts < catalog.MaxAttempts {
		backoff := time.Duration(1<<min(attempts, 8)) * 5 * time.Second
		_, err := tx.ExecContext(ctx, s.bind("UPDATE crawl_jobs SET attempts = ?, not_before = ?, owner = '', lease_until = 0, problem = ? WHERE id = ?"),
			attempts, now.Add(backoff).UnixNano(), truncate(ferr.Error(), 1000), j.ID)
		if err != nil {
			return s.crawlErr("retry job", err)
		}
		return nil
	}
	problem := ""
	if ferr != nil {
		problem = truncate(ferr.Error(), 1000)
		entries = nil
	}
	if len(entries) > 0 {
		rows, err := s.rows(entries)
		if err != nil {
			return err
		}
		if err := s.add(ctx, conn, tx, rows); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.bind("DELETE FROM crawl_jobs WHERE id = ?"), j.ID); err != nil {
		return s.crawlErr("complete job", err)
	}
	_, err := tx.ExecContext(ctx, s.bind("INSERT INTO crawl_done (repo, tag, digest, worker, entries, problem, finished) VALUES (?, ?, ?, ?, ?, ?, ?)"),
		j.Repo, j.Tag, j.Digest, worker, len(entries), problem, now.UnixNano())
	if err != nil {
		return s.crawlErr("complete job", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// CrawlStats implements catalog.Crawler.
func (s *Store) CrawlStats(ctx context.Context) (catalog.CrawlStats, error) {
	var st catalog.CrawlStats
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM crawl_watch), (SELECT COUNT(*) FROM crawl_jobs),
		(SELECT COUNT(*) FROM crawl_done WHERE problem = ''), (SELECT COUNT(*) FROM crawl_done WHERE problem <> '')`).
		Scan(&st.Watched, &st.Queued, &st.Done, &st.Failed)
	if err != nil {
		return st, s.crawlErr("crawl stats", err)
	}
	return st, nil
}

// Done implements catalog.Crawler.
func (s *Store) Done(ctx context.Context, limit int) ([]catalog.DoneJob, error) {
	q := "SELECT repo, tag, digest, worker, entries, problem, finished FROM crawl_done ORDER BY id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, s.crawlErr("done jobs", err)
	}
	defer rows.Close()
	var out []catalog.DoneJob
	for rows.Next() {
		var d catalog.DoneJob
		var fin int64
		if err := rows.Scan(&d.Repo, &d.Tag, &d.Digest, &d.Worker, &d.Entries, &d.Error, &fin); err != nil {
			return nil, s.crawlErr("done jobs", err)
		}
		d.Finished = fromNanos(fin)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Search implements catalog.Searcher: names containing q (any case),
// newest first.
func (s *Store) Search(ctx context.Context, q string, limit, offset int) ([]catalog.Entry, error) {
	pat := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
	query := "SELECT " + lookupColumns + ` FROM images WHERE lower(name) LIKE ? ESCAPE '\' ORDER BY added DESC, name, tag, platform, ident` +
		fmt.Sprintf(" LIMIT %d OFFSET %d", max(limit, 0), max(offset, 0))
	return s.query(ctx, query, pat)
}

// rows converts entries for add as Add does: the last of one key wins,
// in key order (the lock order every writer uses).
func (s *Store) rows(entries []catalog.Entry) ([]row, error) {
	byKey := make(map[string]row, len(entries))
	for _, e := range entries {
		r, err := toRow(e)
		if err != nil {
			return nil, err
		}
		byKey[r.key()] = r
	}
	keys := slices.Sorted(maps.Keys(byKey))
	out := make([]row, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out, nil
}
