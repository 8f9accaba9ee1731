package source

import (
	"context"
	"fmt"
	"io"
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

func (d dirStore) openBlob(dg string) (io.ReadCloser, error) {
	alg, hex, ok := strings.Cut(dg, ":")
	if !ok || alg == "" || hex == "" || strings.ContainsAny(dg, "/\\") || strings.Contains(hex, "..") {
		return nil, fmt.Errorf("bad digest %q: %w", dg, ErrCorrupt)
	}
	if d.flat {
		return os.Open(filepath.Join(d.root, hex))
	}
	return os.Open(filepath.Join(d.root, "blobs", alg, hex))
}

// openLayout opens an OCI layout directory (oci:DIR[:tag]).
func openLayout(ctx context.Context, dir, tag string, opts Options) (Source, error) {
	store := dirStore{root: dir}
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		if os.IsNotExist(err) {
			if mf, merr := os.ReadFile(filepath.Join(dir, "manifest.json")); merr == nil {
				return openFlatDir(ctx, dir, mf, opts)
			}
			return nil, fmt.Errorf("%s has no index.json (OCI layout) or manifest.json (image directory): %w", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, "index.json"), err)
	}
	img, err := openFromIndex(ctx, store, idx, selector{tag: tag, platform: opts.Platform})
	if err != nil {
		return nil, err
	}
	img.Transport = "oci-layout"
	img.Reference = "oci:" + dir
	if tag != "" {
		img.Reference += ":" + tag
	}
	return &storeSource{img: img, store: store}, nil
}

// openFlatDir opens skopeo's "dir:" format: one manifest, blobs by hex.
func openFlatDir(ctx context.Context, dir string, mf []byte, opts Options) (Source, error) {
	store := dirStore{root: dir, flat: true}
	d := image.Descriptor{Digest: digestOf(mf), Size: int64(len(mf))}
	img, err := imageFromManifest(ctx, store, mf, d, nil, selector{platform: opts.Platform})
	if err != nil {
		return nil, err
	}
	img.Transport = "dir"
	img.Reference = "dir:" + dir
	return &storeSource{img: img, store: store}, nil
}
