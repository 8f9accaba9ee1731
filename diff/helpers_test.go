package diff

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/strata-tool/strata/image"
)

// member is one tar entry of a hand-built layer.
type member struct {
	name string
	typ  byte
	body string
	mode int64
	uid  int
	link string
}

func dir(name string) member { return member{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) member {
	return member{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func wh(name string) member { return member{name: name, typ: tar.TypeReg} }

func tarOf(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: m.mode, Uid: m.uid, Linkname: m.link,
			ModTime: time.Unix(1700000000, 0)}
		if m.typ == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func digestOf(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// step is one Dockerfile step of a hand-built image: its created_by and,
// for steps that make a layer, the layer's entries.
type step struct {
	createdBy string
	layer     []member // nil: an empty (metadata-only) step
}

// memImage is an image built in memory plus a LayerOpener over its tars
// that records which layers were opened.
type memImage struct {
	img  *image.Image
	tars [][]byte

	mu     sync.Mutex
	opened []int
}

func (m *memImage) OpenLayer(_ context.Context, i int) (io.ReadCloser, error) {
	m.mu.Lock()
	m.opened = append(m.opened, i)
	m.mu.Unlock()
	if i < 0 || i >= len(m.tars) {
		return nil, fmt.Errorf("no layer %d", i)
	}
	return io.NopCloser(bytes.NewReader(m.tars[i])), nil
}

// build makes an image from steps. The manifest digest is derived from
// ref so two builds under one ref are "identical"; the config digest from
// the config JSON, so equal configs get equal IDs.
func build(t testing.TB, ref string, cfg image.ContainerConfig, steps ...step) *memImage {
	t.Helper()
	m := &memImage{img: &image.Image{Reference: ref, Transport: "test", ManifestDigest: digestOf([]byte(ref)),
		ManifestMediaType: image.MediaTypeOCIManifest, Platform: image.Platform{OS: "linux", Architecture: "amd64"}}}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.img.Config = image.Config{Architecture: "amd64", OS: "linux", Config: cfg, Created: &created, RootFS: image.RootFS{Type: "layers"}}
	var hist []image.History
	for _, s := range steps {
		hist = append(hist, image.History{CreatedBy: s.createdBy, Created: &created, EmptyLayer: s.layer == nil})
		if s.layer == nil {
			continue
		}
		b := tarOf(t, s.layer...)
		m.tars = append(m.tars, b)
		d := digestOf(b)
		m.img.Layers = append(m.img.Layers, image.Layer{Digest: d, Size: int64(len(b)), DiffID: d,
			MediaType: image.MediaTypeOCILayer, UncompressedSize: int64(len(b))})
		m.img.Config.RootFS.DiffIDs = append(m.img.Config.RootFS.DiffIDs, d)
	}
	raw, err := json.Marshal(image.ConfigFile{Config: m.img.Config, History: hist})
	if err != nil {
		t.Fatal(err)
	}
	m.img.ID = digestOf(raw)
	m.img.SetHistory(hist)
	return m
}
