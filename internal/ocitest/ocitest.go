// Package ocitest writes small OCI image layouts from layers a test makes
// itself: hostile tars, exact compression layouts. Test-only; images from
// real builders come from scripts/build-test-images.sh instead.
package ocitest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Member is one tar entry.
type Member struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Mode     int64
	UID, GID int
	Body     []byte
	Link     string
	// Size, when non-zero, is written in the header instead of len(Body)
	// (a header that lies).
	Size         int64
	Major, Minor int64
	ModTime      time.Time
	PAXRecords   map[string]string
}

// Tar builds a tar stream. A Member with Size set larger than its body
// leaves the stream truncated there, as a hostile layer would.
func Tar(t testing.TB, ms ...Member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		typ := m.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mt := m.ModTime
		if mt.IsZero() {
			mt = time.Unix(1700000000, 0)
		}
		h := &tar.Header{Name: m.Name, Typeflag: typ, Mode: m.Mode, Uid: m.UID, Gid: m.GID, Linkname: m.Link,
			ModTime: mt, Devmajor: m.Major, Devminor: m.Minor, Format: tar.FormatPAX, PAXRecords: m.PAXRecords}
		if typ == tar.TypeReg {
			h.Size = int64(len(m.Body))
			if m.Size != 0 {
				h.Size = m.Size
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if len(m.Body) > 0 {
			if _, err := tw.Write(m.Body); err != nil {
				t.Fatal(err)
			}
		}
		if h.Size != int64(len(m.Body)) {
			// A lying size: the stream ends here, mid-entry.
			if err := tw.Flush(); err == nil {
				t.Fatal("tar writer accepted a short entry")
			}
			return buf.Bytes()
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Gzip compresses b as one gzip member.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Zstd compresses b as one zstd frame.
func Zstd(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// Layer is one layer of a test image.
type Layer struct {
	Blob        []byte // as stored
	MediaType   string // default: OCI tar+gzip
	DiffID      string // default: sha256 of Tar
	Tar         []byte // the uncompressed tar, for the default diff_id
	Annotations map[string]string
	CreatedBy   string
}

// Digest is "sha256:…" of b.
func Digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Layout writes an OCI image layout holding one linux/amd64 image with
// these layers (one history step each) and returns its directory.
func Layout(t testing.TB, dir string, layers []Layer) string {
	t.Helper()
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	put := func(b []byte) string {
		d := Digest(b)
		p := filepath.Join(dir, "blobs", "sha256", d[len("sha256:"):])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	var diffIDs []string
	var history []map[string]any
	var descs []desc
	for i, l := range layers {
		mt := l.MediaType
		if mt == "" {
			mt = "application/vnd.oci.image.layer.v1.tar+gzip"
		}
		id := l.DiffID
		if id == "" {
			id = Digest(l.Tar)
		}
		diffIDs = append(diffIDs, id)
		cb := l.CreatedBy
		if cb == "" {
			cb = "layer " + string(rune('0'+i%10))
		}
		history = append(history, map[string]any{"created_by": cb, "created": "2026-01-01T00:00:00Z"})
		descs = append(descs, desc{MediaType: mt, Digest: put(l.Blob), Size: int64(len(l.Blob)), Annotations: l.Annotations})
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config":  map[string]any{},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history": history,
	})
	cfgDesc := desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: put(cfg), Size: int64(len(cfg))}
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": cfgDesc, "layers": descs})
	manDesc := desc{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: put(man), Size: int64(len(man))}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []desc{manDesc}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// GzipLayer is a gzip layer of the given tar.
func GzipLayer(t testing.TB, tarball []byte) Layer {
	return Layer{Blob: Gzip(t, tarball), Tar: tarball}
}
