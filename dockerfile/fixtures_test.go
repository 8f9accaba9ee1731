package dockerfile_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestFixtureImagesParse reconstructs the Dockerfile of every image under
// fixtures/images (every archive and layout, every named image in the
// multi-image ones) and requires that it parse with BuildKit's parser and
// replay to the image's own config.
func TestFixtureImagesParse(t *testing.T) {
	root := filepath.Join(testenv.Fixtures(t), "images")
	refs := fixtureRefs(t, root)
	opened, refused := 0, 0
	for _, ref := range refs {
		rel, _ := filepath.Rel(root, ref)
		t.Run(rel, func(t *testing.T) {
			src, err := source.Open(context.Background(), ref, source.Options{})
			if errors.Is(err, source.ErrUnsupported) || errors.Is(err, source.ErrNotFound) {
				// Artifacts (signatures, Helm charts) and layouts whose
				// manifest was garbage-collected are not images.
				refused++
				t.Logf("not an image: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer src.Close()
			opened++
			img := src.Image()
			res := dockerfile.Render(img, dockerfile.Options{Layers: true})
			if err := dockerfile.Validate(res.Text); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, res.Text)
			}
			checkConfig(t, img, res)
		})
	}
	t.Logf("%d fixture images reconstructed and parsed, %d references refused as non-images", opened, refused)
	if opened < 20 {
		t.Errorf("only %d fixture images opened", opened)
	}
}

// fixtureRefs lists every archive and layout, expanding multi-image ones
// into one reference per name.
func fixtureRefs(t *testing.T, root string) []string {
	var refs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "index.json")); err == nil {
				names := layoutNames(t, filepath.Join(p, "index.json"))
				if len(names) <= 1 {
					refs = append(refs, p)
				}
				for _, n := range names {
					if len(names) > 1 {
						refs = append(refs, p+":"+n)
					}
				}
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "manifest.json")); err == nil {
				refs = append(refs, p)
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".tar") || strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tar.xz") {
			names := archiveNames(t, p)
			if len(names) <= 1 {
				refs = append(refs, p)
			} else {
				for _, n := range names {
					refs = append(refs, p+":"+n)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func layoutNames(t *testing.T, index string) []string {
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	_ = json.Unmarshal(b, &doc)
	seen := map[string]bool{}
	var out []string
	for _, m := range doc.Manifests {
		n := m.Annotations["org.opencontainers.image.ref.name"]
		if n != "" && !strings.HasPrefix(n, "sha256-") && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// archiveNames reads the RepoTags of a docker-save archive's manifest.json.
func archiveNames(t *testing.T, path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(raw)
	switch {
	case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil
		}
		r = zr
	case bytes.HasPrefix(raw, []byte{0xfd, '7', 'z', 'X', 'Z'}):
		out, err := exec.Command("xz", "-dc", path).Output()
		if err != nil {
			return nil
		}
		r = bytes.NewReader(out)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil
		}
		if strings.TrimPrefix(h.Name, "./") != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		b, _ := io.ReadAll(tr)
		if json.Unmarshal(b, &m) != nil || len(m) <= 1 {
			return nil
		}
		var out []string
		for _, e := range m {
			out = append(out, e.RepoTags...)
		}
		return out
	}
}
