package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// TestIndexStoreFlag: with --index-store, a second `files` of a registry
// image, SQLite file or PostgreSQL, reads no layer (what `layers` costs);
// the cache directory is left alone, and stays the default without it.
func TestIndexStoreFlag(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	ref := testenv.BuiltRef(t, "single", "classic", "registry")
	_, _, meta := runCLI(t, "layers", "--http-stats", ref)
	specs := map[string]func() string{
		"sqlite":   func() string { return filepath.Join(t.TempDir(), "indexes.db") },
		"postgres": func() string { spec, _, _ := testenv.PostgresSchema(t, "strata_cli_idx"); return spec },
	}
	var want string
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			spec := specs[engine]()
			code, first, errs1 := runCLI(t, "files", "--http-stats", "--index-store", spec, ref)
			if code != 0 {
				t.Fatal(errs1)
			}
			code, second, errs2 := runCLI(t, "files", "--http-stats", "--index-store", spec, ref)
			if code != 0 {
				t.Fatal(errs2)
			}
			if first != second || want != "" && first != want {
				t.Error("listings differ between runs or engines")
			}
			want = first
			if httpLine(t, errs1) == httpLine(t, meta) {
				t.Errorf("the first run read no layer: %s", httpLine(t, errs1))
			}
			if httpLine(t, errs2) != httpLine(t, meta) {
				t.Errorf("second files: %s; layers (metadata only): %s", httpLine(t, errs2), httpLine(t, meta))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(cache, "strata", "layers")); !os.IsNotExist(err) {
		t.Errorf("--index-store runs used the cache directory (%v)", err)
	}
	code, out, errs := runCLI(t, "files", "--http-stats", ref)
	if code != 0 || out != want || httpLine(t, errs) == httpLine(t, meta) {
		t.Errorf("without --index-store (empty cache directory): exit %d, %s", code, httpLine(t, errs))
	}
	if _, err := os.Stat(filepath.Join(cache, "strata", "layers")); err != nil {
		t.Errorf("the default run kept nothing in the cache directory: %v", err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--no-cache", "--index-store", filepath.Join(t.TempDir(), "x.db")}, "no-cache"},
		{[]string{"--index-store", filepath.Join(t.TempDir(), "missing", "x.db")}, "does not exist"},
		{[]string{"--index-store", tempFile(t, "notes.txt", "not a catalog\n")}, "not a strata catalog"},
	} {
		code, _, errs := runCLI(t, append(append([]string{"files"}, c.args...), ref)...)
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", c.args, code, errs, c.want)
		}
	}
}

func tempFile(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIndexStoreReadOnlyFallback: a database the user may read but not
// write (a PostgreSQL role with SELECT only) still serves the indexes kept
// in it, says that new ones are not kept, and keeps none.
func TestIndexStoreReadOnlyFallback(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ref := testenv.BuiltRef(t, "single", "classic", "registry")
	other := testenv.BuiltRef(t, "parent", "classic", "registry")
	spec, _, _ := testenv.PostgresSchema(t, "strata_cli_idx")
	if code, _, errs := runCLI(t, "files", "--index-store", spec, ref); code != 0 {
		t.Fatal(errs)
	}
	admin, err := sql.Open("pgx", spec)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var schema string
	if err := admin.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	role := schema + "_reader"
	for _, q := range []string{"CREATE ROLE " + role + " NOLOGIN", "GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT ON ALL TABLES IN SCHEMA " + schema + " TO " + role} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		admin.Exec("DROP OWNED BY " + role)
		admin.Exec("DROP ROLE " + role)
	})
	rows := func() int {
		var n int
		if err := admin.QueryRow("SELECT COUNT(*) FROM layer_indexes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	kept := rows()
	reader := spec + "&role=" + role
	_, _, meta := runCLI(t, "layers", "--http-stats", ref)
	code, _, errs := runCLI(t, "files", "--http-stats", "--index-store", reader, ref)
	if code != 0 || !strings.Contains(errs, "reading only") || httpLine(t, errs) != httpLine(t, meta) {
		t.Errorf("reader, indexed image: exit %d, %q; want the indexes read with a note", code, errs)
	}
	if code, _, errs := runCLI(t, "files", "--index-store", reader, other); code != 0 {
		t.Errorf("reader, new image: %s", errs)
	}
	if rows() != kept {
		t.Errorf("the reader kept indexes: %d rows, was %d", rows(), kept)
	}
}
