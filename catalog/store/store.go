// Package store opens a catalog by the spec a user gives (--catalog): the
// one place that knows every catalog store and where the default one
// lives. It is a package of its own because catalog/sqlite and
// catalog/postgres import catalog, so catalog cannot import them; verbs
// and servers import this instead of choosing a backend themselves.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/postgres"
	"github.com/strata-tool/strata/catalog/sqlite"
)

// OpenOptions say how a catalog is opened.
type OpenOptions struct {
	// ReadOnly is for the reading verbs (catalog ls, catalog export, base,
	// dockerfile): nothing is created or written — no file, directory,
	// table, WAL switch — and a catalog that does not exist yet is not an
	// error (Open returns a nil Catalog). A catalog the user may read but
	// not write opens.
	ReadOnly bool
}

// Open opens the catalog named by spec:
//
//   - "" is the default SQLite file, DefaultPath(); opened read-write, its
//     directories are created (they are strata's own);
//   - postgres://… or postgresql://… is a PostgreSQL catalog;
//   - anything else is the path of a SQLite file, whose directory must
//     exist: a mistyped path is an error, never a new directory tree.
//
// where names the catalog for messages: the file's path, or the DSN
// without its password. With opts.ReadOnly and no catalog there yet (no
// file, an empty file, a database without strata's tables), Open returns
// (nil, where, nil). A file or database that is not a strata catalog is a
// *catalog.NotCatalogError, one written by another strata version a
// *catalog.SchemaError; either way it is left unchanged.
func Open(ctx context.Context, spec string, opts OpenOptions) (c catalog.Catalog, where string, err error) {
	if IsPostgres(spec) {
		where = postgres.Redact(spec)
		open := postgres.Open
		if opts.ReadOnly {
			open = postgres.OpenReadOnly
		}
		s, err := open(ctx, spec)
		if err != nil {
			return nil, where, noCatalog(err)
		}
		return s, where, nil
	}
	path := spec
	if path == "" {
		if path, err = DefaultPath(); err != nil {
			return nil, "", err
		}
		if !opts.ReadOnly {
			// XDG asks for 0700 on directories an application creates
			// under the data home.
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, path, fmt.Errorf("catalog %s: %w", path, err)
			}
		}
	}
	open := sqlite.Open
	if opts.ReadOnly {
		open = sqlite.OpenReadOnly
	}
	s, err := open(ctx, path)
	if err != nil {
		return nil, path, noCatalog(err)
	}
	return s, path, nil
}

// noCatalog turns "no catalog yet", which only a read-only open reports,
// into no error: the caller gets a nil Catalog.
func noCatalog(err error) error {
	if errors.Is(err, catalog.ErrNoCatalog) {
		return nil
	}
	return err
}

// IsPostgres reports whether spec names a PostgreSQL catalog.
func IsPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// DefaultPath is the default catalog file: $XDG_DATA_HOME/strata/catalog.db,
// else ~/.local/share/strata/catalog.db.
func DefaultPath() (string, error) { return sqlite.DefaultPath() }
