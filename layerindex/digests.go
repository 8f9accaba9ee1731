package layerindex

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/strata-tool/strata/layers"
)

// FileDigests gives the sha256 of each path's content as layer i holds it
// (the layer's last entry at the path, a regular file), for the few files
// a verb that indexed with FingerprintOnly must name by digest. Where the
// index has the digest it is taken as is; otherwise the file is read
// (one range where the source allows) and checked against its
// fingerprint. A layer not loaded before is loaded for this and let go.
func (im *Image) FileDigests(ctx context.Context, i int, paths []string) (map[string]string, error) {
	loaded := im.Layer(i) != nil
	if err := im.Load(ctx, i); err != nil {
		return nil, err
	}
	if !loaded {
		defer im.forget(i)
	}
	ix := im.Layer(i)
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	last := map[string]int{}
	for j := range ix.Entries {
		if e := &ix.Entries[j]; want[e.Path] && !e.Whiteout && !e.Opaque {
			last[e.Path] = j
		}
	}
	out := map[string]string{}
	var read []File
	for _, p := range paths {
		j, ok := last[p]
		if !ok || ix.Entries[j].Type != layers.TypeFile {
			return nil, fmt.Errorf("layer %d holds no regular file at %s", i, p)
		}
		if d := ix.Entries[j].Digest; d != "" {
			out[p] = d
			continue
		}
		read = append(read, File{Entry: &ix.Entries[j], Layer: i, Ord: j})
	}
	err := im.ReadFiles(ctx, read, func(f File, r io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		out[f.Path] = sum(h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest files of layer %d: %w", i, err)
	}
	return out, nil
}

// forget drops layer i's loaded index (its memory), not the Store's copy.
func (im *Image) forget(i int) {
	im.mu.Lock()
	im.layers[i] = nil
	im.mu.Unlock()
}
