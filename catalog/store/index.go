package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/internal/sqlstore"
	"github.com/strata-tool/strata/layerindex"
)

// IndexOptions say how a catalog's layer index table is used.
type IndexOptions struct {
	// ReadOnly opens the catalog as the reading verbs do: indexes are
	// read, never kept (Put returns catalog.ErrReadOnly), and a catalog
	// written before the table existed simply has none.
	ReadOnly bool
	// MaxBytes bounds the table; <= 0 is layerindex.DefaultMaxBytes.
	MaxBytes int64
}

// IndexStore is a layerindex.Store kept in a catalog's database (table
// layer_indexes), so that servers and runners sharing a catalog share
// their layer indexes too.
type IndexStore struct {
	layerindex.Store
	// Where names the database for messages: a path, or a DSN without
	// its password.
	Where string
	// ReadOnly: indexes are read from it, never kept in it.
	ReadOnly bool

	cat catalog.Catalog
}

// Close closes the database, unless the store shares an open catalog
// (CatalogIndexStore), whose owner closes it.
func (s *IndexStore) Close() error {
	if s.cat == nil {
		return nil
	}
	return s.cat.Close()
}

// OpenIndexStore opens the catalog named by spec, as Open does ("" the
// default file, postgres://… a server, else a SQLite path), for its layer
// indexes. Read-write, a catalog that does not exist yet is created and
// one written before the table existed gets it. Read-only, a catalog that
// does not exist is an error wrapping catalog.ErrNoCatalog.
func OpenIndexStore(ctx context.Context, spec string, o IndexOptions) (*IndexStore, error) {
	cat, where, err := Open(ctx, spec, OpenOptions{ReadOnly: o.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("layer index store: %w", err)
	}
	if cat == nil {
		return nil, fmt.Errorf("layer index store %s: %w", where, catalog.ErrNoCatalog)
	}
	s, err := CatalogIndexStore(cat, o.MaxBytes)
	if err != nil {
		cat.Close()
		return nil, err
	}
	s.Where, s.cat = where, cat
	return s, nil
}

// indexTable is what the SQL catalogs (SQLite, PostgreSQL) offer.
type indexTable interface {
	Indexes(maxBytes int64) *sqlstore.Indexes
}

// CatalogIndexStore keeps layer indexes in the database of cat, an open
// catalog (a server's): they share its connections, and closing the
// result leaves cat open. maxBytes <= 0 is layerindex.DefaultMaxBytes. A
// catalog opened read-only gives a store that only reads.
func CatalogIndexStore(cat catalog.Catalog, maxBytes int64) (*IndexStore, error) {
	t, ok := cat.(indexTable)
	if !ok {
		return nil, errors.New("layer index store: this catalog keeps no layer indexes")
	}
	if maxBytes <= 0 {
		maxBytes = layerindex.DefaultMaxBytes
	}
	ix := t.Indexes(maxBytes)
	return &IndexStore{Store: layerindex.NewBytesStore(ix), ReadOnly: ix.ReadOnly()}, nil
}
