package testenv

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

var schemaSeq atomic.Int64

// PostgresSchema makes a schema of its own on the shared PostgreSQL
// server (STRATA_TEST_POSTGRES_DSN), dropped when the test ends, so tests
// and concurrent runs never see each other. It returns a DSN selecting
// it, a plain connection to the server (creating a schema must not
// depend on whatever tables the public schema holds) and its name.
func PostgresSchema(t testing.TB, prefix string) (spec string, admin *sql.DB, schema string) {
	t.Helper()
	dsn := Service(t, "STRATA_TEST_POSTGRES_DSN")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema = fmt.Sprintf("%s_%d_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, admin, schema
}
