package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/layerindex"
)

// addIndexFlags registers the flags of every verb that reads inside layers.
func (a *app) addIndexFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&a.noCache, "no-cache", false, "neither use nor keep layer indexes ($XDG_CACHE_HOME/strata/layers)")
}

// indexStore is the layer index cache, or nil with --no-cache or when no
// cache directory can be made (indexing then simply starts over each run).
func (a *app) indexStore() layerindex.Store {
	if a.noCache {
		return nil
	}
	dir, err := layerindex.DefaultDir()
	if err != nil {
		return nil
	}
	s, err := layerindex.NewDirStore(dir, 0)
	if err != nil {
		return nil
	}
	return s
}

// openIndex opens ref for reading inside its layers; nothing is indexed
// until the caller loads layers. close releases the source.
func (a *app) openIndex(ctx context.Context, ref string) (im *layerindex.Image, close func(), err error) {
	src, err := a.open(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	return layerindex.New(src, layerindex.Options{Store: a.indexStore()}), func() { src.Close() }, nil
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
