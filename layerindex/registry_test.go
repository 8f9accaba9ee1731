package layerindex_test

import (
	"context"
	"io"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
)

// TestCachedIndexFetchesNoLayerBytes: once a gzip image's layers are
// indexed into a store, indexing it again (another process, another
// image sharing the layers) reads no layer byte: only what opening the
// image costs.
func TestCachedIndexFetchesNoLayerBytes(t *testing.T) {
	var ref string
	for _, img := range testenv.BuiltImages(t) {
		if img.Name == "single" && img.Builder == "buildkit" {
			ref = img.Refs["registry"]
		}
	}
	if ref == "" {
		t.Fatal("no single/buildkit image in the registry")
	}
	store, err := layerindex.NewDirStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		src, stats := openCounted(t, ref)
		opened := stats.Requests.Load()
		openBytes := stats.BytesReceived.Load()
		im := layerindex.New(src, layerindex.Options{Store: store})
		if err := im.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		reqs, bytes := stats.Requests.Load()-opened, stats.BytesReceived.Load()-openBytes
		for i := range src.Image().Layers {
			want := layerindex.HowBlob
			if run == 2 {
				want = layerindex.HowCache
			}
			if im.How(i) != want {
				t.Errorf("run %d: layer %d indexed by %s, want %s", run, i, im.How(i), want)
			}
		}
		if run == 1 && bytes == 0 {
			t.Fatal("the first run read no layer bytes")
		}
		if run == 2 && (reqs != 0 || bytes != 0) {
			t.Errorf("the second run made %d requests for %d bytes, want none", reqs, bytes)
		}
	}
}

// TestGzipCheckpointRangeFromRegistry reads one file of a gzip layer back
// from the nearest checkpoint with one range request, far less than the
// layer. The eStargz image's layers are plain gzip to a reader that
// ignores their TOC.
func TestGzipCheckpointRangeFromRegistry(t *testing.T) {
	ref := testenv.TOCImages(t)[testenv.EStargz]
	src, stats := openCounted(t, ref)
	im := layerindex.New(src, layerindex.Options{NoTOC: true, CheckpointEvery: 64 << 10})
	if err := im.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	fsys, _ := im.Merge(len(src.Image().Layers))
	f, ok := fsys.Lookup("toc/hardlink")
	if !ok {
		t.Fatal("toc/hardlink missing")
	}
	ix := im.Layer(f.Layer)
	if ix.Format != layerindex.FormatGzip || len(ix.Checkpoints) < 4 {
		t.Fatalf("layer %d: %s with %d checkpoints", f.Layer, ix.Format, len(ix.Checkpoints))
	}
	reqs, before := stats.Requests.Load(), stats.BytesReceived.Load()
	rc, err := im.Open(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "hi\n" {
		t.Fatalf("content %q, %v", b, err)
	}
	got, blob := stats.BytesReceived.Load()-before, src.Image().Layers[f.Layer].Size
	t.Logf("read %s with %d requests, %d bytes of a %d-byte layer", f.Path, stats.Requests.Load()-reqs, got, blob)
	if got*4 > blob {
		t.Errorf("fetched %d bytes of a %d-byte layer for a 3-byte file", got, blob)
	}
}
