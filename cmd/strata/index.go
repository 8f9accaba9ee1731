package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
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

// finalFS indexes every layer and merges them.
func finalFS(ctx context.Context, im *layerindex.Image) (*layerindex.FS, error) {
	if err := im.Load(ctx); err != nil {
		return nil, err
	}
	return im.Merge(len(im.Image.Layers))
}

// fileRow is one entry of `files -o json` (README).
type fileRow struct {
	Path   string    `json:"path"`
	Type   string    `json:"type"`
	Mode   uint32    `json:"mode"`
	UID    int       `json:"uid"`
	GID    int       `json:"gid"`
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	Digest string    `json:"digest"`
	Link   string    `json:"link"`
	Layer  int       `json:"layer"`
	Step   int       `json:"step"`
	Change string    `json:"change,omitempty"`
}

func rowOf(im *layerindex.Image, f layerindex.File) fileRow {
	r := fileRow{Path: f.Path, Type: f.Type.String(), Mode: f.Mode, UID: f.UID, GID: f.GID, Size: f.Size,
		MTime: f.ModTime, Digest: f.Digest, Link: f.Link, Layer: f.Layer}
	if s, ok := im.Step(f.Layer); ok {
		r.Step = s.Step
	}
	return r
}

// modeString renders a JSON row's type name and mode as ls does.
func modeString(typ string, mode uint32) string {
	var t layers.Type
	_ = t.UnmarshalText([]byte(typ)) // an unknown name renders as a file
	return layers.ModeString(t, mode)
}

// sizeCell is exact bytes in pipes, human units on a terminal; "-" where a
// size means nothing.
func sizeCell(typ string, n int64, human bool) string {
	if typ != layers.TypeFile.String() && typ != layers.TypeHardlink.String() {
		return "-"
	}
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
