package layerindex_test

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// openCounted opens a registry image with request counting; the returned
// function tells the bytes received since it was called.
func openCounted(t *testing.T, ref string) (source.Source, *source.HTTPStats) {
	t.Helper()
	var stats source.HTTPStats
	src, err := source.Open(context.Background(), ref, source.Options{Stats: &stats})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, &stats
}

// TestTOCListingFromRegistry lists BuildKit's eStargz and podman's
// zstd:chunked images from their tables of contents: only TOC bytes are
// fetched (at most 10 % of the layers), the listing equals the one made by
// reading every layer in full, and a file is read back from its span.
func TestTOCListingFromRegistry(t *testing.T) {
	refs := testenv.TOCImages(t)
	for _, flavour := range []string{testenv.EStargz, testenv.ZstdChunked} {
		t.Run(flavour, func(t *testing.T) {
			src, stats := openCounted(t, refs[flavour])
			var layerBytes int64
			tocLayers := 0
			for _, l := range src.Image().Layers {
				layerBytes += l.Size
				if layerindex.HasTOC(l) {
					tocLayers++
				}
			}
			if tocLayers < 3 {
				t.Fatalf("only %d of %d layers carry a TOC", tocLayers, len(src.Image().Layers))
			}
			before := stats.BytesReceived.Load()
			im := layerindex.New(src, layerindex.Options{})
			if err := im.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			fetched := stats.BytesReceived.Load() - before
			for i, l := range src.Image().Layers {
				if layerindex.HasTOC(l) && im.How(i) != layerindex.HowTOC {
					t.Errorf("layer %d has a TOC but was indexed by %s", i, im.How(i))
				}
			}
			t.Logf("%s: fetched %d bytes for %d layers of %d bytes (%.2f %%)", flavour, fetched, len(src.Image().Layers), layerBytes, 100*float64(fetched)/float64(layerBytes))
			if fetched*10 > layerBytes {
				t.Errorf("fetched %d bytes to list %d bytes of layers: over 10 %%", fetched, layerBytes)
			}
			full := layerindex.New(src, layerindex.Options{NoTOC: true})
			if err := full.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := range src.Image().Layers {
				if layerindex.HasTOC(src.Image().Layers[i]) {
					sameEntries(t, i, im.Layer(i), full.Layer(i))
				}
			}
			readFromSpan(t, im, stats)
		})
	}
}

// sameEntries: a TOC lists what the tar holds, in the same order, every
// field equal (TOC mtimes have whole seconds; eStargz rounds them).
func sameEntries(t *testing.T, layer int, toc, full *layerindex.Index) {
	t.Helper()
	line := func(e layerindex.Entry, round bool) string {
		mt := e.ModTime.Unix()
		if round {
			mt = e.ModTime.Round(1e9).Unix()
		}
		return fmt.Sprintf("%s %s %o %d:%d %d %q %s w=%v o=%v %d", e.Path, e.Type, e.Mode, e.UID, e.GID, e.Size, e.Link, e.Digest, e.Whiteout, e.Opaque, mt)
	}
	var a, b []string
	for _, e := range toc.Entries {
		a = append(a, line(e, false))
	}
	for _, e := range full.Entries {
		b = append(b, line(e, toc.Format == layerindex.FormatEStargz))
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("layer %d: TOC listing differs from the tar:\nTOC:\n%s\ntar:\n%s", layer, strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if len(a) == 0 {
		t.Errorf("layer %d: empty listing", layer)
	}
}

// readFromSpan reads the 3 MB file back through its TOC span alone.
func readFromSpan(t *testing.T, im *layerindex.Image, stats *source.HTTPStats) {
	t.Helper()
	fsys, err := im.Merge(len(im.Image.Layers))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := fsys.Lookup("toc/big/blob")
	if !ok || f.Span.Length == 0 {
		t.Fatalf("toc/big/blob: %v, span %+v", ok, f.Span)
	}
	before := stats.BytesReceived.Load()
	rc, err := im.Open(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != f.Size {
		t.Fatalf("read %d of %d bytes: %v", n, f.Size, err)
	}
	got := stats.BytesReceived.Load() - before
	if got > f.Span.Length || got < f.Span.Length/2 {
		t.Errorf("fetched %d bytes for a span of %d", got, f.Span.Length)
	}
	if l := im.Image.Layers[f.Layer]; got*2 > l.Size+f.Span.Length {
		t.Logf("span %d of layer %d bytes", f.Span.Length, l.Size)
	}
}

// TestTOCImagesMatchContainerExport: the final file system read from the
// TOCs equals the container the engines build — docker for the eStargz
// image (plain gzip to it), podman for zstd:chunked (its own format).
func TestTOCImagesMatchContainerExport(t *testing.T) {
	refs := testenv.TOCImages(t)
	host := testenv.Service(t, "STRATA_TEST_DOCKER_HOST")
	if out, err := execOut("docker", "-H", host, "pull", "-q", refs[testenv.EStargz]); err != nil {
		t.Fatalf("docker pull: %v %s", err, out)
	}
	engines := map[string][]string{testenv.EStargz: {"docker", "-H", host}, testenv.ZstdChunked: {"podman"}}
	for flavour, engine := range engines {
		t.Run(flavour, func(t *testing.T) {
			want := exportFS(t, engine, refs[flavour])
			im, fsys := indexImage(t, refs[flavour], layerindex.Options{})
			if im.How(len(im.Image.Layers)-1) != layerindex.HowTOC {
				t.Fatalf("top layer indexed by %s, not its TOC", im.How(len(im.Image.Layers)-1))
			}
			compareFS(t, flavour, im, fsys, want)
			// hello.txt and hardlink were one file; hello.txt is deleted.
			if f, ok := fsys.Lookup("toc/hardlink"); !ok || f.Type != layers.TypeFile || f.Mode != 0o4755 {
				t.Errorf("toc/hardlink: %+v", f)
			}
		})
	}
}

func execOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
