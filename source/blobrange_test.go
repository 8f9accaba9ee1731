package source_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// checkRanges reads a layer blob whole through OpenBlobRange, checks it
// against its digest, then checks parts of it against the whole.
func checkRanges(t *testing.T, src source.Source, stats *source.HTTPStats) {
	t.Helper()
	br, ok := src.(source.BlobRanger)
	if !ok {
		t.Fatalf("%T is not a BlobRanger", src)
	}
	ctx := context.Background()
	l := src.Image().Layers[0]
	d := l.Digest
	if d == "" {
		d = l.DiffID
	}
	read := func(off, n int64) []byte {
		t.Helper()
		rc, err := br.OpenBlobRange(ctx, d, off, n)
		if err != nil {
			t.Fatalf("range %d+%d: %v", off, n, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("range %d+%d: %v", off, n, err)
		}
		return b
	}
	whole := read(0, -1)
	if got := digest.FromBytes(whole).String(); got != d {
		t.Fatalf("whole blob is %s, want %s", got, d)
	}
	size := int64(len(whole))
	for _, r := range [][2]int64{{0, 1}, {100, 1000}, {size - 10, -1}, {size / 2, size / 4}, {size - 1, 1}} {
		var before int64
		if stats != nil {
			before = stats.BytesReceived.Load()
		}
		got := read(r[0], r[1])
		want := whole[r[0]:]
		if r[1] >= 0 {
			want = want[:r[1]]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("range %d+%d: %d bytes that differ from the blob's", r[0], r[1], len(got))
		}
		if stats != nil && stats.BytesReceived.Load()-before != int64(len(want)) {
			t.Errorf("range %d+%d: received %d bytes for %d", r[0], r[1], stats.BytesReceived.Load()-before, len(want))
		}
	}
	if _, err := br.OpenBlobRange(ctx, "sha256:../../etc", 0, 1); err == nil {
		t.Error("a malformed digest was accepted")
	}
}

// TestBlobRangeEverySource: registry (one Range request each, counted),
// OCI layouts, plain and compressed docker save archives, Docker 29's save.
func TestBlobRangeEverySource(t *testing.T) {
	var img testenv.BuiltImage
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == "single" && b.Builder == "buildkit" {
			img = b
		}
	}
	if img.Refs == nil {
		t.Fatal("no single/buildkit test image")
	}
	for _, label := range []string{"registry", "oci-layout", "oci-layout-zstd", "docker-archive", "docker-archive-gzip", "docker29-archive", "oci-archive"} {
		t.Run(label, func(t *testing.T) {
			var stats *source.HTTPStats
			opts := source.Options{}
			if label == "registry" {
				stats = &source.HTTPStats{}
				opts.Stats = stats
			}
			src, err := source.Open(context.Background(), img.Refs[label], opts)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			checkRanges(t, src, stats)
		})
	}
}

// TestBlobRangeRegistryIgnoringRange: a registry (or CDN) that answers a
// Range request with the whole blob still yields the asked-for bytes.
func TestBlobRangeRegistryIgnoringRange(t *testing.T) {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	ranged := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranged++
			r.Header.Del("Range")
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/t/ignore:1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(200000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(context.Background(), ref.Name(), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	checkRanges(t, src, nil)
	if ranged == 0 {
		t.Fatal("no Range request was made")
	}
}
