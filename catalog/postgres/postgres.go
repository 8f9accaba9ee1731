// Package postgres is the server catalog store: the same schema as the
// embedded one on PostgreSQL (via pgx), so many strata servers can share
// one catalog.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also the database/sql driver "pgx"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/internal/sqlstore"
)

// Store is the PostgreSQL catalog.
type Store struct {
	*sqlstore.Store
}

var _ catalog.Catalog = (*Store)(nil)

var dialect = sqlstore.Dialect{
	Name: "postgres",
	Schema: []string{
		`CREATE TABLE IF NOT EXISTS images (
			id BIGSERIAL PRIMARY KEY,
			name TEXT NOT NULL, tag TEXT NOT NULL, platform TEXT NOT NULL, ident TEXT NOT NULL,
			manifest_digest TEXT NOT NULL, index_digest TEXT NOT NULL, config_digest TEXT NOT NULL,
			layers INTEGER NOT NULL,
			diff_path BYTEA, blob_path BYTEA, diff_chain BYTEA, blob_chain BYTEA,
			history TEXT NOT NULL, steps TEXT NOT NULL, source TEXT NOT NULL, added BIGINT NOT NULL,
			UNIQUE (name, tag, platform, ident))`,
	},
	HasTable:  `SELECT to_regclass(?) IS NOT NULL`,
	Columns:   `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`,
	AfterBulk: []string{"ANALYZE images"},
	HasIndex:  `SELECT to_regclass(?) IS NOT NULL`,
	Stage: `CREATE TEMP TABLE IF NOT EXISTS images_stage (
			name TEXT NOT NULL, tag TEXT NOT NULL, platform TEXT NOT NULL, ident TEXT NOT NULL,
			manifest_digest TEXT NOT NULL, index_digest TEXT NOT NULL, config_digest TEXT NOT NULL,
			layers INTEGER NOT NULL,
			diff_path BYTEA, blob_path BYTEA, diff_chain BYTEA, blob_chain BYTEA,
			history TEXT NOT NULL, steps TEXT NOT NULL, source TEXT NOT NULL, added BIGINT NOT NULL)
			ON COMMIT DELETE ROWS`,
	Copy:        copyRows,
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	MaxParams:   65535,
	Blob:        "BYTEA",
	AutoID:      "BIGSERIAL PRIMARY KEY",
	SkipLocked:  " FOR UPDATE SKIP LOCKED",
	Retryable: func(err error) bool {
		var pe *pgconn.PgError
		// deadlock_detected, serialization_failure, unique_violation (two
		// servers creating the schema or the same row at once),
		// duplicate_table and duplicate_object (CREATE … IF NOT EXISTS
		// racing another server's: the second attempt sees it exists).
		return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" || pe.Code == "23505" || pe.Code == "42P07" || pe.Code == "42710")
	},
}

// copyRows streams rows into table with COPY on conn's pgx connection,
// inside whatever transaction conn holds.
func copyRows(ctx context.Context, conn *sql.Conn, table string, columns []string, rows [][]any) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: driver connection is %T, not pgx", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	})
}

// Open connects to dsn (postgres://user:pass@host:port/db?…) and creates
// the schema if needed. search_path in the DSN selects a schema. A
// database whose table "images" is not strata's is refused untouched.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, false)
}

// OpenReadOnly connects for the reading verbs: every transaction of the
// session is read-only (default_transaction_read_only), no schema is
// created, and a database without strata's tables is an error wrapping
// catalog.ErrNoCatalog.
func OpenReadOnly(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, true)
}

// DefaultConnectTimeout bounds connecting (and the start-up exchange) when
// the DSN sets no connect_timeout: a server that accepts and never answers
// must not be waited on forever.
const DefaultConnectTimeout = 10 * time.Second

func parseConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, fmt.Errorf("postgres catalog %s: malformed connection string", Redact(dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	return cfg, nil
}

func open(ctx context.Context, dsn string, readOnly bool) (*Store, error) {
	where := Redact(dsn)
	cfg, err := parseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if readOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres catalog %s: connect: %w", where, err)
	}
	var s *sqlstore.Store
	// Schema creation races between servers starting together surface as
	// unique violations on the catalog tables; the second attempt sees them.
	for attempt := 0; ; attempt++ {
		s, err = sqlstore.New(ctx, db, dialect, sqlstore.Options{Where: where, ReadOnly: readOnly})
		if err == nil || attempt == 9 || !dialect.Retryable(err) {
			break
		}
		// Each CREATE can lose a race; several servers starting together
		// need a few rounds.
		time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{Store: s}, nil
}

// Redact renders dsn for messages: without its password, and without
// parameters that may carry secrets (sslkey, sslpassword, …) other than
// the schema.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" && u.Path == "" {
		return "postgres://…"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := url.Values{}
	if sp := u.Query().Get("search_path"); sp != "" {
		q.Set("search_path", sp)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
