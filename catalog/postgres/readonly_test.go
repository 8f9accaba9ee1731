package postgres

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/internal/sqlstore"
	"github.com/strata-tool/strata/internal/testenv"
)

// schemaTables lists the tables and their columns in schema.
func schemaTables(t *testing.T, admin *sql.DB, schema string) map[string]string {
	t.Helper()
	rows, err := admin.Query(`SELECT table_name, string_agg(column_name, ',' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = $1 GROUP BY table_name`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, c string
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

// TestReadOnlyCreatesNothing: a read-only open of a database without a
// catalog is "no catalog yet" and leaves the schema empty.
func TestReadOnlyCreatesNothing(t *testing.T) {
	spec, admin, schema := testenv.PostgresSchema(t, "strata_test")
	if _, err := OpenReadOnly(context.Background(), spec); !errors.Is(err, catalog.ErrNoCatalog) {
		t.Errorf("read-only open of an empty schema: %v", err)
	}
	if got := schemaTables(t, admin, schema); len(got) != 0 {
		t.Errorf("a read-only open created %v", got)
	}
}

// TestReadOnlySession: the read-only store's session cannot write even
// past the store's own checks.
func TestReadOnlySession(t *testing.T) {
	_, spec := freshStore(t)
	ro, err := OpenReadOnly(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.DB().Exec("DELETE FROM images"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write on the read-only session: %v", err)
	}
}

// TestForeignTables: a database whose table "images" is not strata's is
// refused by both opens with no table created or changed, and a version 1
// catalog (strata's table, no version row) is recognised as strata's.
func TestForeignTables(t *testing.T) {
	ctx := context.Background()
	spec, admin, schema := testenv.PostgresSchema(t, "strata_test")
	if _, err := admin.Exec("CREATE TABLE " + schema + ".images (id SERIAL PRIMARY KEY, url TEXT, width INTEGER)"); err != nil {
		t.Fatal(err)
	}
	before := schemaTables(t, admin, schema)
	for _, open := range []func(context.Context, string) (*Store, error){OpenReadOnly, Open} {
		s, err := open(ctx, spec)
		if err == nil {
			s.Close()
			t.Fatal("a foreign images table was accepted")
		}
		var nc *catalog.NotCatalogError
		if !errors.As(err, &nc) || strings.Contains(err.Error(), "remove") || strings.Contains(err.Error(), "older") {
			t.Errorf("foreign table: %v", err)
		}
		if u, _ := url.Parse(spec); u != nil && u.User != nil {
			if p, ok := u.User.Password(); ok && strings.Contains(err.Error(), p) {
				t.Errorf("the error shows the password: %v", err)
			}
		}
	}
	if after := schemaTables(t, admin, schema); !reflect.DeepEqual(after, before) {
		t.Errorf("refusing changed the schema: %v → %v", before, after)
	}

	spec, admin, schema = testenv.PostgresSchema(t, "strata_test")
	if _, err := admin.Exec("SET search_path = " + schema + "; " + dialect.Schema[0]); err != nil {
		t.Fatal(err)
	}
	for _, open := range []func(context.Context, string) (*Store, error){OpenReadOnly, Open} {
		_, err := open(ctx, spec)
		var se *catalog.SchemaError
		if !errors.As(err, &se) || se.Version != 1 || se.Want != sqlstore.SchemaVersion || !strings.Contains(err.Error(), "older strata") {
			t.Errorf("version 1 catalog: %v", err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@db.example:5432/cat?sslmode=disable&sslpassword=pw&search_path=s1": "postgres://u@db.example:5432/cat?search_path=s1",
		"postgresql://db/cat":        "postgresql://db/cat",
		"postgres://%zz@host/db":     "postgres://…",
		"postgres://:secret@host/db": "postgres://@host/db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
