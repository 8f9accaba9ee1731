package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/catalog/store"
	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/progress"
	"github.com/strata-tool/strata/layerindex"
)

// addIndexFlags registers the flags of every verb that reads inside layers.
// --index-store is opened before the verb runs, once, so every image the
// verb opens shares it and a bad spec fails before any work.
func (a *app) addIndexFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&a.noCache, "no-cache", false, "neither use nor keep layer indexes ($XDG_CACHE_HOME/strata/layers)")
	cmd.Flags().StringVar(&a.indexSpec, "index-store", "", "keep layer indexes in a catalog database instead of the cache directory: a SQLite file path, or postgres://… to share them")
	cmd.MarkFlagsMutuallyExclusive("no-cache", "index-store")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return a.openIndexStore(cmd.Context(), cmd.ErrOrStderr()) }
}

// openIndexStore opens --index-store, if given. A database the user may
// read but not write still serves its indexes (nothing is kept), with a
// note saying so.
func (a *app) openIndexStore(ctx context.Context, stderr io.Writer) error {
	if a.indexSpec == "" {
		return nil
	}
	s, err := store.OpenIndexStore(ctx, a.indexSpec, store.IndexOptions{})
	if err != nil {
		ro, rerr := store.OpenIndexStore(ctx, a.indexSpec, store.IndexOptions{ReadOnly: true})
		if rerr != nil {
			return fmt.Errorf("--index-store: %w", err)
		}
		fmt.Fprintf(stderr, "strata: --index-store %s: reading only, new layer indexes are not kept (%s)\n", ro.Where, oneLine(err.Error()))
		s = ro
	}
	a.sharedIndexes = s
	return nil
}

// closeIndexStore closes --index-store's database after the verb.
func (a *app) closeIndexStore() {
	if a.sharedIndexes != nil {
		a.sharedIndexes.Close()
	}
}

// indexStore is the layer index store: --index-store's database, else
// the cache directory; nil with --no-cache or when no cache directory can
// be made (indexing then simply starts over each run).
func (a *app) indexStore() layerindex.Store {
	if a.noCache {
		return nil
	}
	if a.sharedIndexes != nil {
		return a.sharedIndexes
	}
	return layerindex.DefaultStore()
}

// indexOptions is how a verb indexes layers: through the index store,
// with every layer byte read counted by one meter on stderr (drawn only
// on a terminal: indexing a large image from a registry takes a while).
func (a *app) indexOptions() layerindex.Options {
	a.meterOnce.Do(func() { a.meter = progress.ForStderr("strata: indexing layers", -1) })
	m := a.meter
	return layerindex.Options{Store: a.indexStore(), Read: func(_ int, r io.Reader) io.Reader { return m.Reader(r) }}
}

// contentOptions also hands regular files' content to content while
// layers are indexed.
func (a *app) contentOptions(content func(layer int) layerindex.ContentFunc) layerindex.Options {
	o := a.indexOptions()
	o.Content = content
	return o
}

// indexed clears the meter's line once the layers are read, so it never
// sits in front of what the verb prints.
func (a *app) indexed() {
	a.meterOnce.Do(func() {}) // orders this read of a.meter after its creation
	if a.meter != nil {
		a.meter.Finish()
	}
}

// openIndex opens ref for reading inside its layers; nothing is indexed
// until the caller loads layers. close releases the source. A verb that
// never prints a file's digest (cat, extract) passes digests false: layers
// it has to read get fingerprints only, and kept indexes of either kind
// serve it.
func (a *app) openIndex(ctx context.Context, ref string, digests bool) (im *layerindex.Image, close func(), err error) {
	src, err := a.open(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	o := a.indexOptions()
	o.FingerprintOnly = !digests
	return layerindex.New(src, o), func() { a.indexed(); src.Close() }, nil
}

// sizeCell is exact bytes in pipes, human units on a terminal; "-" where a
// size means nothing.
func sizeCell(r filelist.Row, human bool) string {
	if !r.HasSize() {
		return "-"
	}
	n := r.Size
	if human {
		return humanize.Bytes(n)
	}
	return fmt.Sprint(n)
}

// notFound words a missing path the way a user reads it.
func notFound(err error, p string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file in the image", p)
	}
	return err
}
