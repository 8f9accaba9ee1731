package source_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"

	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// within runs f and fails the test if it has not returned in d: the
// inputs here used to block forever. A hung f is abandoned (its goroutine
// stays blocked), so the test reports instead of hanging.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still running after %s", d)
		return nil
	}
}

// openAndRead opens ref and streams every layer.
func openAndRead(ref string) error {
	src, err := source.Open(context.Background(), ref, source.Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	return readAllLayers(context.Background(), src)
}

// layoutParts is a valid one-layer OCI layout's blobs.
type layoutParts struct {
	layer, cfg, man []byte
	index           string
}

func newLayoutParts(t *testing.T) layoutParts {
	layerTar := tarOf(t, "etc/hostname", "box\n")
	layer := gz(layerTar)
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"COPY hostname /etc/"}]}`, sha(layerTar)))
	man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, sha(cfg), len(cfg), image.MediaTypeOCILayerGzip, sha(layer), len(layer)))
	index := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`, image.MediaTypeOCIManifest, sha(man), len(man))
	return layoutParts{layer: layer, cfg: cfg, man: man, index: index}
}

func blobPath(dir string, b []byte) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(sha(b), "sha256:"))
}

// replace puts a FIFO, or a symlink to target, where path was.
func replace(t *testing.T, path, target string) {
	t.Helper()
	os.Remove(path)
	var err error
	if target == "fifo" {
		err = syscall.Mkfifo(path, 0o644)
	} else {
		err = os.Symlink(target, path)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestNonRegularFilesRefused: a FIFO named like a blob, index.json or
// manifest.json blocked open(2) forever; a link to /dev/zero as index.json
// or a layer blob read forever (or until memory ran out). Only regular
// files are opened, and each refusal is one line naming the file.
func TestNonRegularFilesRefused(t *testing.T) {
	p := newLayoutParts(t)
	cases := []struct {
		name   string
		make   func(t *testing.T) string // returns the ref
		atOpen bool                      // refused by Open (else when layers are read)
		msg    string
	}{
		{name: "index.json-fifo", atOpen: true, msg: "named pipe", make: func(t *testing.T) string {
			dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
			replace(t, filepath.Join(dir, "index.json"), "fifo")
			return dir
		}},
		{name: "index.json-dev-zero", atOpen: true, msg: "character device", make: func(t *testing.T) string {
			dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
			replace(t, filepath.Join(dir, "index.json"), "/dev/zero")
			return dir
		}},
		{name: "manifest-blob-fifo", atOpen: true, msg: "named pipe", make: func(t *testing.T) string {
			dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
			replace(t, blobPath(dir, p.man), "fifo")
			return dir
		}},
		{name: "config-blob-dev-zero", atOpen: true, msg: "character device", make: func(t *testing.T) string {
			dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
			replace(t, blobPath(dir, p.cfg), "/dev/zero")
			return dir
		}},
		{name: "layer-blob-fifo", msg: "named pipe", make: func(t *testing.T) string {
			dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
			replace(t, blobPath(dir, p.layer), "fifo")
			return dir
		}},
		{name: "layer-blob-dev-zero", msg: "character device", make: func(t *testing.T) string {
			dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
			replace(t, blobPath(dir, p.layer), "/dev/zero")
			return dir
		}},
		{name: "flat-dir-manifest.json-fifo", atOpen: true, msg: "named pipe", make: func(t *testing.T) string {
			dir := t.TempDir()
			replace(t, filepath.Join(dir, "manifest.json"), "fifo")
			return dir
		}},
		{name: "flat-dir-manifest.json-dev-zero", atOpen: true, msg: "character device", make: func(t *testing.T) string {
			dir := t.TempDir()
			replace(t, filepath.Join(dir, "manifest.json"), "/dev/zero")
			return dir
		}},
		{name: "archive-fifo", atOpen: true, msg: "named pipe", make: func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "img.tar")
			replace(t, f, "fifo")
			return f
		}},
		{name: "archive-dev-zero", atOpen: true, msg: "character device", make: func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "img.tar")
			replace(t, f, "/dev/zero")
			return f
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := c.make(t)
			var openErr error
			err := within(t, 10*time.Second, func() error {
				src, err := source.Open(context.Background(), ref, source.Options{})
				if err != nil {
					openErr = err
					return err
				}
				defer src.Close()
				return readAllLayers(context.Background(), src)
			})
			if err == nil {
				t.Fatal("no error")
			}
			if c.atOpen != (openErr != nil) {
				t.Errorf("refused at open: %v, want %v (%v)", openErr != nil, c.atOpen, err)
			}
			if !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q does not say %q in one line", err, c.msg)
			}
		})
	}
}

// TestMetadataSizeLimits: index.json and a flat manifest.json over the
// metadata limit are refused as too large (a sparse file: nothing is
// written, nothing is held).
func TestMetadataSizeLimits(t *testing.T) {
	big := func(t *testing.T, path string) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(17 << 20)
		f.Close()
	}
	layout := t.TempDir()
	big(t, filepath.Join(layout, "index.json"))
	flat := t.TempDir()
	big(t, filepath.Join(flat, "manifest.json"))
	for _, ref := range []string{layout, flat} {
		_, err := source.Open(context.Background(), ref, source.Options{})
		if !errors.Is(err, source.ErrTooLarge) || !strings.Contains(err.Error(), "too large") {
			t.Errorf("%s: got %v, want ErrTooLarge", ref, err)
		}
	}
}

// TestDockerSaveLargeConfig: a docker save whose config is over 4 MiB (a
// long history) was reported as "missing". Up to the metadata limit it
// opens; beyond it, it is "too large", never "missing"; both whole and
// gzipped.
func TestDockerSaveLargeConfig(t *testing.T) {
	history := func(n int) func(map[string]any) {
		return func(c map[string]any) {
			h := c["history"].([]map[string]any)
			pad := strings.Repeat("x", 1000)
			for i := 0; i < n; i++ {
				h = append(h, map[string]any{"created_by": "/bin/sh -c #(nop)  LABEL k" + fmt.Sprint(i) + "=" + pad, "empty_layer": true})
			}
			c["history"] = h
		}
	}
	for _, c := range []struct {
		name    string
		entries int
		wantErr error
	}{
		{name: "5MiB", entries: 5000},
		{name: "17MiB", entries: 17000, wantErr: source.ErrTooLarge},
	} {
		save := dockerSave(t, history(c.entries))
		for kind, b := range map[string][]byte{"plain": save, "gzip": gz(save)} {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				src, err := source.Open(context.Background(), writeTemp(t, "big.tar", b), source.Options{})
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) || strings.Contains(err.Error(), "missing") {
						t.Fatalf("got %v, want %v and not \"missing\"", err, c.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				if got := len(src.Image().History); got != c.entries+2 {
					t.Errorf("%d history entries, want %d", got, c.entries+2)
				}
				if err := readAllLayers(context.Background(), src); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestLayerBoundedByDescriptor: a layer blob is read up to its descriptor's
// size and no further: a longer blob is corrupt, said so, even before its
// digest is known to differ.
func TestLayerBoundedByDescriptor(t *testing.T) {
	p := newLayoutParts(t)
	dir := ociLayout(t, p.index, p.man, p.cfg, p.layer)
	f, _ := os.OpenFile(blobPath(dir, p.layer), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(bytes.Repeat([]byte{0}, 1<<20))
	f.Close()
	err := within(t, 10*time.Second, func() error { return openAndRead(dir) })
	if !errors.Is(err, source.ErrCorrupt) || !strings.Contains(err.Error(), "longer than the") {
		t.Fatalf("got %v", err)
	}
}

// TestDuplicateEntriesLastWins: with two entries of one name, the last is
// the one, as docker load has it, in plain and compressed archives alike.
// The first copy of the layer here starts with '{' (so it was kept in
// memory as metadata) and the real layer comes after it.
func TestDuplicateEntriesLastWins(t *testing.T) {
	layer := tarOf(t, "real.txt", "the last entry\n")
	cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"COPY real.txt /"}]}`, sha(layer))
	stale := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}`
	ar := tarOf(t,
		"l/layer.tar", `{"not":"the layer"}`,
		"c.json", stale,
		"l/layer.tar", string(layer),
		"c.json", cfg,
		"manifest.json", `[{"Config":"c.json","RepoTags":["dup:1"],"Layers":["l/layer.tar"]}]`)
	for kind, b := range map[string][]byte{"plain": ar, "gzip": gz(ar)} {
		t.Run(kind, func(t *testing.T) {
			src, err := source.Open(context.Background(), writeTemp(t, "dup.tar", b), source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if got := src.Image().DiffIDs(); len(got) != 1 || got[0] != sha(layer) {
				t.Fatalf("config: diff_ids %v, want the last c.json's", got)
			}
			rc, err := src.OpenLayer(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var names []string
			if _, err := layers.Walk(rc, layers.WalkOptions{}, func(r layers.Record) error {
				names = append(names, r.Path)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if strings.Join(names, ",") != "real.txt" {
				t.Errorf("layer holds %v, want the last entry's real.txt", names)
			}
		})
	}
}

func sha512Of(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

// TestDigestAlgorithms: sha512 blobs are verified like sha256 ones (they
// were read unchecked), and an algorithm the OCI spec does not allow is
// refused by name, not accepted unverified.
func TestDigestAlgorithms(t *testing.T) {
	layerTar := tarOf(t, "etc/hostname", "box\n")
	layer := gz(layerTar)
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, sha(layerTar)))
	layout := func(t *testing.T, layerDigest string, layerBytes []byte, cfgDigest string, cfgBytes []byte) string {
		man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
			image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, cfgDigest, len(cfgBytes), image.MediaTypeOCILayerGzip, layerDigest, len(layerBytes)))
		index := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`, image.MediaTypeOCIManifest, sha512Of(man), len(man))
		dir := ociLayout(t, index)
		os.MkdirAll(filepath.Join(dir, "blobs", "sha512"), 0o755)
		for d, b := range map[string][]byte{sha512Of(man): man, layerDigest: layerBytes, cfgDigest: cfgBytes} {
			alg, h, _ := strings.Cut(d, ":")
			os.MkdirAll(filepath.Join(dir, "blobs", alg), 0o755)
			os.WriteFile(filepath.Join(dir, "blobs", alg, h), b, 0o644)
		}
		return dir
	}
	altered := gz(tarOf(t, "etc/hostname", "evil\n"))
	cases := []struct {
		name    string
		dir     func(t *testing.T) string
		wantErr error
		msg     string
	}{
		{name: "sha512-good", dir: func(t *testing.T) string { return layout(t, sha512Of(layer), layer, sha512Of(cfg), cfg) }},
		{name: "sha512-layer-altered", dir: func(t *testing.T) string {
			// Same length, other content, stored under the good digest;
			// the config's diff_id is made to match, so only the blob
			// digest can catch it.
			c := []byte(strings.Replace(string(cfg), sha(layerTar), sha(tarOf(t, "etc/hostname", "evil\n")), 1))
			return layout(t, sha512Of(layer), altered, sha512Of(c), c)
		}, wantErr: source.ErrDigestMismatch, msg: "sha512:"},
		{name: "sha512-config-altered", dir: func(t *testing.T) string {
			return layout(t, sha512Of(layer), layer, sha512Of(cfg), bytes.Replace(cfg, []byte("amd64"), []byte("arm64"), 1))
		}, wantErr: source.ErrDigestMismatch},
		{name: "unknown-algorithm", dir: func(t *testing.T) string {
			return layout(t, "md5:"+strings.Repeat("a", 32), layer, sha512Of(cfg), cfg)
		}, wantErr: source.ErrUnsupported, msg: `algorithm "md5"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := openAndRead(c.dir(t))
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v saying %q", err, c.wantErr, c.msg)
			}
		})
	}
}

// TestErrorMessages: one line each, saying a thing once.
func TestErrorMessages(t *testing.T) {
	t.Run("ambiguous-archive", func(t *testing.T) {
		one := dockerSave(t, nil)
		// Two images: the same layer, two configs, two tags.
		ar := tarOf(t, "a.json", `{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":[]}}`,
			"b.json", `{"architecture":"arm64","os":"linux","rootfs":{"diff_ids":[]}}`,
			"manifest.json", `[{"Config":"a.json","RepoTags":["x:a"],"Layers":[]},{"Config":"b.json","RepoTags":["x:b"],"Layers":[]}]`)
		_ = one
		_, err := source.Open(context.Background(), writeTemp(t, "two.tar", ar), source.Options{})
		if !errors.Is(err, source.ErrAmbiguous) {
			t.Fatalf("got %v", err)
		}
		if strings.HasSuffix(err.Error(), source.ErrAmbiguous.Error()) || !strings.Contains(err.Error(), "x:a, x:b") {
			t.Errorf("message %q: names missing, or the kind repeated at the end", err)
		}
	})
	t.Run("digest-mismatch-through-walk", func(t *testing.T) {
		p := writeTemp(t, "bad.tar", dockerSave(t, func(c map[string]any) {
			c["rootfs"] = map[string]any{"type": "layers", "diff_ids": []string{sha([]byte("something else"))}}
		}))
		src, err := source.Open(context.Background(), p, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		rc, err := src.OpenLayer(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		_, err = layers.Walk(rc, layers.WalkOptions{}, func(layers.Record) error { return nil })
		if !errors.Is(err, source.ErrDigestMismatch) {
			t.Fatalf("got %v", err)
		}
		if n := strings.Count(err.Error(), p); n != 1 || strings.Contains(err.Error(), "trailer") {
			t.Errorf("message names the archive %d times or speaks of the tar trailer: %q", n, err)
		}
	})
	t.Run("mistyped-relative-path", func(t *testing.T) {
		offline := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return nil, fmt.Errorf("dial tcp: lookup %s: no such host", r.URL.Hostname())
		})
		_, err := source.Open(context.Background(), "images/nope", source.Options{Transport: offline, MaxRetryWait: -1})
		if err == nil || !strings.Contains(err.Error(), `no local file or directory "images/nope"`) {
			t.Fatalf("got %v", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
