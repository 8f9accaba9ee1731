package layerindex

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// rangeFilesMax is how many files of one layer ReadFiles fetches one range
// request at a time; past it the layer is streamed once instead.
const rangeFilesMax = 64

// ReadFiles calls fn with the verified content of each regular file, layer
// by layer: where the source and index allow range reads, a few files one
// range each and many in runs of nearby files (one range and one decoding
// per run, so the bytes read follow the files wanted); otherwise one stream
// of the layer for all of its files. fn must read the reader to its end
// (the check happens there).
func (im *Image) ReadFiles(ctx context.Context, files []File, fn func(File, io.Reader) error) error {
	byLayer := map[int][]File{}
	for _, f := range files {
		if f.Entry == nil || f.Type != layers.TypeFile {
			return fmt.Errorf("ReadFiles: %s is not a regular file", f.Path)
		}
		byLayer[f.Layer] = append(byLayer[f.Layer], f)
	}
	order := make([]int, 0, len(byLayer))
	for l := range byLayer {
		order = append(order, l)
	}
	sort.Ints(order)
	for _, l := range order {
		group := byLayer[l]
		var err error
		switch {
		case len(group) <= rangeFilesMax && im.randomAccess(l):
			err = im.readEach(ctx, group, fn)
		case im.randomAccess(l) && runnable(group):
			err = im.readRuns(ctx, l, group, fn)
		default:
			err = im.readStream(ctx, l, group, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (im *Image) randomAccess(layer int) bool {
	_, ok := im.src.(source.BlobRanger)
	ix, l := im.Layer(layer), im.Image.Layers[layer]
	return ok && ix != nil && l.Digest != "" && ix.Digest == l.Digest && ix.HasContent()
}

func (im *Image) readEach(ctx context.Context, group []File, fn func(File, io.Reader) error) error {
	for _, f := range group {
		rc, err := im.Open(ctx, f)
		if err != nil {
			return err
		}
		err = fn(f, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// readStream reads a layer once and hands over each wanted entry, found
// as the n-th entry at its path, the way the index counted them.
func (im *Image) readStream(ctx context.Context, layer int, group []File, fn func(File, io.Reader) error) error {
	type key struct {
		path string
		nth  int
	}
	ix := im.Layer(layer)
	wantOrd := map[int]File{}
	for _, f := range group {
		wantOrd[f.Ord] = f
	}
	want := map[key]File{}
	seen := map[string]int{}
	for j := range ix.Entries {
		p := ix.Entries[j].Path
		if f, ok := wantOrd[j]; ok {
			want[key{p, seen[p]}] = f
		}
		seen[p]++
	}
	rc, err := im.src.OpenLayer(ctx, layer)
	if err != nil {
		return fmt.Errorf("read layer %d: %w", layer, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	clear(seen)
	for len(want) > 0 {
		h, err := tr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the layer no longer holds every indexed entry")
			}
			return fmt.Errorf("read layer %d: %w", layer, err)
		}
		rec, skip, err := layers.RecordFor(h)
		if err != nil {
			return fmt.Errorf("read layer %d: %w", layer, err)
		}
		if skip {
			continue
		}
		k := key{rec.Path, seen[rec.Path]}
		seen[rec.Path]++
		f, ok := want[k]
		if !ok {
			continue
		}
		delete(want, k)
		if err := fn(f, verified(io.NopCloser(tr), f)); err != nil {
			return err
		}
	}
	// Read the rest: the source checks the layer's digest at its end.
	_, err = io.Copy(io.Discard, rc)
	return err
}
