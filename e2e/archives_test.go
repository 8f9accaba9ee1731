package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestCommittedArchives opens each archive scripts/make-testdata-archives.sh
// committed under testdata/images and checks strata's model against the
// archive's own JSON, read here with archive/tar and encoding/json. Needs no
// services.
func TestCommittedArchives(t *testing.T) {
	dir := filepath.Join(testenv.Testdata(), "images")
	cases := []struct {
		ref    string // as a user would pass it, relative to dir
		file   string // the archive or layout
		pick   string // RepoTag (docker save) or ref.name (OCI) to read the expectation from
		layers int    // from testdata/images/src: the Dockerfile's COPY lines
	}{
		{"docker-save-legacy.tar", "docker-save-legacy.tar", "", 2},
		{"docker-save-legacy.tar.gz", "docker-save-legacy.tar.gz", "", 2},
		{"docker-save-multi.tar:strata-test/tiny:classic", "docker-save-multi.tar", "strata-test/tiny:classic", 2},
		{"docker-save-multi.tar:strata-test/tiny2:classic", "docker-save-multi.tar", "strata-test/tiny2:classic", 1},
		{"oci-archive.tar", "oci-archive.tar", "", 2},
		{"oci-layout", "oci-layout", "", 2},
		{"oci-layout-zstd", "oci-layout-zstd", "", 2},
		{"buildkit-provenance", "buildkit-provenance", "", 2},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("%s missing: run scripts/make-testdata-archives.sh", path)
			}
			want := archiveConfig(t, path, c.pick)
			src, err := source.Open(t.Context(), filepath.Join(dir, c.ref), source.Options{})
			if err != nil {
				t.Fatalf("open %s: %v", c.ref, err)
			}
			defer src.Close()
			img := src.Image()
			if len(want.DiffIDs) != c.layers {
				t.Fatalf("the archive's config has %d diff_ids, the Dockerfile makes %d layers", len(want.DiffIDs), c.layers)
			}
			if d := compare(want, modelFromImage(img), nil); len(d) > 0 {
				t.Errorf("%s differs from its own config:\n  %s", c.ref, strings.Join(d, "\n  "))
			}
			// Every layer streams and passes its digest check at EOF.
			for i, l := range img.Layers {
				rc, err := src.OpenLayer(t.Context(), i)
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil {
					t.Errorf("layer %d (%s): %v", i, l.MediaType, err)
				}
				if c.file == "oci-layout-zstd" && l.MediaType != image.MediaTypeOCILayerZstd {
					t.Errorf("layer %d media type %s, skopeo wrote zstd", i, l.MediaType)
				}
			}
			if c.file == "buildkit-provenance" && (img.Index == nil || len(img.Index.Attestations) != 1) {
				t.Errorf("BuildKit provenance layout: want one attestation manifest in the model's index, got %+v", img.Index)
			}
		})
	}
	t.Run("multi-image archive without a ref", func(t *testing.T) {
		_, err := source.Open(t.Context(), filepath.Join(dir, "docker-save-multi.tar"), source.Options{})
		if !errors.Is(err, source.ErrAmbiguous) {
			t.Fatalf("got %v, want ErrAmbiguous", err)
		}
		for _, tag := range []string{"strata-test/tiny:classic", "strata-test/tiny2:classic"} {
			if !strings.Contains(err.Error(), tag) {
				t.Errorf("error %q does not list %s", err, tag)
			}
		}
	})
}

// archiveConfig finds the image config in a docker save tar (manifest.json),
// an OCI tar or an OCI layout directory (index.json, nested indexes
// followed, attestation manifests skipped) and decodes it as the reference.
func archiveConfig(t *testing.T, path, pick string) model {
	t.Helper()
	read := fileReader(t, path)
	if b, err := read("manifest.json"); err == nil {
		var entries []struct {
			Config   string
			RepoTags []string
		}
		if err := json.Unmarshal(b, &entries); err != nil {
			t.Fatalf("%s manifest.json: %v", path, err)
		}
		for _, e := range entries {
			if pick == "" || slices.Contains(e.RepoTags, pick) {
				cfg, err := read(e.Config)
				if err != nil {
					t.Fatal(err)
				}
				return modelFromConfig(t, cfg)
			}
		}
		t.Fatalf("%s: no image tagged %q", path, pick)
	}
	idx, err := read("index.json")
	if err != nil {
		t.Fatalf("%s: neither manifest.json nor index.json: %v", path, err)
	}
	for depth := 0; depth < 4; depth++ {
		var m registryManifest
		if err := json.Unmarshal(idx, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m.Config.Digest != "" {
			cfg, err := read(blobPath(m.Config.Digest))
			if err != nil {
				t.Fatal(err)
			}
			return modelFromConfig(t, cfg)
		}
		next := ""
		for _, d := range m.Manifests {
			if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
				next = d.Digest
				break
			}
		}
		if next == "" {
			t.Fatalf("%s: index without an image manifest", path)
		}
		if idx, err = read(blobPath(next)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: indexes nest deeper than 4", path)
	return model{}
}

func blobPath(d string) string { return "blobs/" + strings.Replace(d, ":", "/", 1) }

// fileReader reads named members of a directory, a tar or a gzip'd tar.
func fileReader(t *testing.T, path string) func(string) ([]byte, error) {
	t.Helper()
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(path, name)) }
	}
	return func(name string) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return nil, err
			}
			r = zr
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			if strings.TrimPrefix(h.Name, "./") == name {
				return io.ReadAll(io.LimitReader(tr, 1<<20))
			}
		}
	}
}
