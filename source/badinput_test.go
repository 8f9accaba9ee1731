package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// tarOf builds a tar from name → content pairs, in order.
func tarOf(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return buf.Bytes()
}

// dockerSave builds a legacy docker-save archive with one layer; mutate
// may alter the config before it is written.
func dockerSave(t testing.TB, mutate func(cfg map[string]any)) []byte {
	t.Helper()
	layer := tarOf(t, "hello.txt", strings.Repeat("hello world\n", 5000))
	cfg := map[string]any{
		"architecture": "amd64", "os": "linux",
		"config":  map[string]any{"Cmd": []string{"/hello"}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{sha(layer)}},
		"history": []map[string]any{{"created_by": "/bin/sh -c #(nop) COPY file:abc in / "}, {"created_by": "/bin/sh -c #(nop)  CMD [\"/hello\"]", "empty_layer": true}},
	}
	if mutate != nil {
		mutate(cfg)
	}
	cb, _ := json.Marshal(cfg)
	cname := strings.TrimPrefix(sha(cb), "sha256:") + ".json"
	mf, _ := json.Marshal([]map[string]any{{"Config": cname, "RepoTags": []string{"test/hello:1"}, "Layers": []string{"abc/layer.tar"}}})
	return tarOf(t, cname, string(cb), "abc/layer.tar", string(layer), "manifest.json", string(mf))
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func readAllLayers(ctx context.Context, src source.Source) error {
	for i := range src.Image().Layers {
		rc, err := src.OpenLayer(ctx, i)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func TestArchiveBadInput(t *testing.T) {
	ctx := context.Background()
	good := dockerSave(t, nil)
	cases := []struct {
		name string
		file []byte
		// openErr is expected from Open; readErr from streaming the layers.
		openErr, readErr error
		msg              string
	}{
		{name: "good", file: good},
		{name: "good-gzipped-whole", file: gz(good)},
		{name: "truncated-tar", file: good[:len(good)/2], openErr: source.ErrCorrupt, msg: "truncated or corrupt"},
		{name: "gzip-ends-early", file: gz(good)[:len(gz(good))-200], openErr: source.ErrCorrupt},
		{name: "layer-does-not-match-diff_id", file: dockerSave(t, func(c map[string]any) {
			c["rootfs"] = map[string]any{"type": "layers", "diff_ids": []string{sha([]byte("something else"))}}
		}), readErr: source.ErrDigestMismatch, msg: "expected sha256:"},
		{name: "config-not-json", file: tarOf(t, "c.json", "{not json", "manifest.json", `[{"Config":"c.json","Layers":[]}]`), openErr: source.ErrCorrupt},
		{name: "manifest.json-not-json", file: tarOf(t, "manifest.json", "[{oops"), openErr: source.ErrCorrupt},
		{name: "not-an-image", file: tarOf(t, "etc/passwd", "root:x:0:0"), openErr: source.ErrUnsupported},
		{name: "empty-file", file: []byte{}, openErr: source.ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "img.tar", c.file)
			src, err := source.Open(ctx, p, source.Options{})
			if c.openErr != nil {
				if !errors.Is(err, c.openErr) {
					t.Fatalf("Open: got %v, want %v", err, c.openErr)
				}
				if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
					t.Errorf("error %q does not say %q", err, c.msg)
				}
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer src.Close()
			err = readAllLayers(ctx, src)
			if c.readErr == nil {
				if err != nil {
					t.Fatalf("read layers: %v", err)
				}
				img := src.Image()
				if len(img.Layers) != 1 || img.History[0].Layer != 0 || img.History[1].Layer != -1 || img.RepoTags[0] != "test/hello:1" {
					t.Errorf("model: %+v", img)
				}
				return
			}
			if !errors.Is(err, c.readErr) {
				t.Fatalf("read layers: got %v, want %v", err, c.readErr)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
		})
	}
}

// ociLayout writes a layout whose index.json points at the given manifest
// document (stored under its own digest) plus extra blobs.
func ociLayout(t testing.TB, index string, blobs ...[]byte) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
	for _, b := range blobs {
		os.WriteFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(sha(b), "sha256:")), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644)
	return dir
}

func TestLayoutBadInput(t *testing.T) {
	ctx := context.Background()
	notJSON := []byte("this is not a manifest")
	layer := gz(tarOf(t, "a", "b"))
	cfg := []byte(fmt.Sprintf(`{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, sha(tarOf(t, "a", "b"))))
	man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, sha(cfg), len(cfg), image.MediaTypeOCILayerGzip, sha(layer), len(layer)))
	armIndex := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"s390x"}}]}`,
		image.MediaTypeOCIIndex, image.MediaTypeOCIManifest, sha(man), len(man), image.MediaTypeOCIManifest, sha(man), len(man)))
	top := func(b []byte, mt string) string {
		return fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`, mt, sha(b), len(b))
	}
	amd64 := image.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := image.Platform{OS: "linux", Architecture: "arm64"}

	t.Run("manifest-not-json", func(t *testing.T) {
		_, err := source.Open(ctx, ociLayout(t, top(notJSON, image.MediaTypeOCIManifest), notJSON), source.Options{})
		if !errors.Is(err, source.ErrCorrupt) || !strings.Contains(err.Error(), "not JSON") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no-matching-platform-lists-platforms", func(t *testing.T) {
		_, err := source.Open(ctx, ociLayout(t, top(armIndex, image.MediaTypeOCIIndex), armIndex, man, cfg, layer), source.Options{Platform: &amd64})
		if !errors.Is(err, source.ErrPlatformNotFound) || !strings.Contains(err.Error(), "linux/arm64/v8, linux/s390x") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("platform-chosen", func(t *testing.T) {
		src, err := source.Open(ctx, ociLayout(t, top(armIndex, image.MediaTypeOCIIndex), armIndex, man, cfg, layer), source.Options{Platform: &arm64})
		if err != nil {
			t.Fatal(err)
		}
		img := src.Image()
		if img.Platform.Architecture != "arm64" || img.Index == nil || len(img.Index.Manifests) != 2 || img.ManifestDigest != sha(man) {
			t.Fatalf("model: %+v", img)
		}
		if err := readAllLayers(ctx, src); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("blob-content-does-not-match-its-name", func(t *testing.T) {
		dir := ociLayout(t, top(man, image.MediaTypeOCIManifest), man, cfg, layer)
		// Overwrite the layer blob with other bytes under the same name.
		os.WriteFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(sha(layer), "sha256:")), gz(tarOf(t, "a", "X")), 0o644)
		src, err := source.Open(ctx, dir, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := readAllLayers(ctx, src); !errors.Is(err, source.ErrDigestMismatch) && !errors.Is(err, source.ErrCorrupt) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("missing-layer-blob", func(t *testing.T) {
		src, err := source.Open(ctx, ociLayout(t, top(man, image.MediaTypeOCIManifest), man, cfg), source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := readAllLayers(ctx, src); !errors.Is(err, source.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no-such-path", func(t *testing.T) {
		_, err := source.Open(ctx, "./does-not-exist.tar", source.Options{})
		if !errors.Is(err, source.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
}
