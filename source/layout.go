package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-tool/strata/image"
)

// dirStore is an OCI image layout directory, or (flat) the "dir:" format
// of containers/image and skopeo: manifest.json beside blobs named by hex.
type dirStore struct {
	root string
	flat bool
}

func (d dirStore) describe() string {
	if d.flat {
		return "image directory " + d.root
	}
	return "OCI layout " + d.root
}

func (d dirStore) openBlob(ctx context.Context, dg string) (io.ReadCloser, error) {
	rc, err := d.openFile(dg)
	if err != nil {
		return nil, err
	}
	return ctxReadCloser(ctx, rc), nil
}

func (d dirStore) openFile(dg string) (*os.File, error) {
	alg, hex, ok := strings.Cut(dg, ":")
	if !ok || alg == "" || hex == "" || strings.ContainsAny(dg, "/\\") || strings.Contains(hex, "..") {
		return nil, fmt.Errorf("bad digest %q: %w", dg, ErrCorrupt)
	}
	if d.flat {
		f, err := openRegular(filepath.Join(d.root, hex))
		if errors.Is(err, fs.ErrNotExist) {
			// skopeo copy --all keeps each platform's manifest as
			// <hex>.manifest.json beside the index in manifest.json.
			return openRegular(filepath.Join(d.root, hex+".manifest.json"))
		}
		return f, err
	}
	return openRegular(filepath.Join(d.root, "blobs", alg, hex))
}

// openLayout opens an OCI layout directory (oci:DIR[:tag]), or a "dir:"
// directory: one image, or with sel.all every platform of it.
func openLayout(ctx context.Context, dir, tag string, sel selector) ([]Source, error) {
	store := dirStore{root: dir}
	idx, err := readRegularFile(filepath.Join(dir, "index.json"), maxMetadata)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			mf, merr := readRegularFile(filepath.Join(dir, "manifest.json"), maxMetadata)
			if merr == nil {
				return openFlatDir(ctx, dir, mf, sel)
			}
			if !errors.Is(merr, fs.ErrNotExist) {
				return nil, fmt.Errorf("image directory %s: %w", dir, merr)
			}
			return nil, fmt.Errorf("%s has no index.json (OCI layout) or manifest.json (image directory): %w", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	sel.tag = tag
	imgs, err := openFromIndex(ctx, store, idx, sel)
	if err != nil {
		return nil, err
	}
	subject, saved := cosignSaved(idx)
	out := make([]Source, len(imgs))
	for i, img := range imgs {
		img.Transport = "oci-layout"
		img.Reference = "oci:" + dir
		if tag != "" {
			img.Reference += ":" + tag
		}
		out[i] = &storeSource{img: img, store: store}
		if len(saved) > 0 && (img.ManifestDigest == subject || img.Index != nil && img.Index.Digest == subject) {
			out[i] = &savedSource{&storeSource{img: img, store: store}, saved}
		}
	}
	return out, nil
}

// openFlatDir opens skopeo's "dir:" format: manifest.json (an image, or
// with copy --all an index), blobs by hex.
func openFlatDir(ctx context.Context, dir string, mf []byte, sel selector) ([]Source, error) {
	store := dirStore{root: dir, flat: true}
	d := image.Descriptor{Digest: digestOf(mf), Size: int64(len(mf))}
	imgs, err := resolve(ctx, storeReader{store}, d, mf, nil, sel, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Source, len(imgs))
	for i, img := range imgs {
		img.Transport = "dir"
		img.Reference = "dir:" + dir
		out[i] = &storeSource{img: img, store: store}
	}
	return out, nil
}
