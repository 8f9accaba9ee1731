package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/strata-tool/strata/buildcontext"
	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/hostile"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// TestStreamedJSONIsTheEncodersJSON: the dockerfile reports streamed
// field by field are byte for byte what encoding/json writes for the
// same structs (writeJSON), on real images and on the hostile corpus's
// metadata (control characters, a 16,000-step history).
func TestStreamedJSONIsTheEncodersJSON(t *testing.T) {
	refs := []string{filepath.Join(testenv.Testdata(), "demo", "demo.tar")}
	dir := t.TempDir()
	for _, c := range hostile.Metadata() {
		p, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, p)
	}
	if n := checkStreamed(t, refs); n < 3 {
		t.Fatalf("only %d images opened", n)
	}
	t.Run("built", func(t *testing.T) {
		var built []string
		for _, b := range testenv.BuiltImages(t) {
			if ref, ok := b.Refs["docker-archive"]; ok && b.Builder == "buildkit-provenance" {
				built = append(built, ref)
			}
		}
		if checkStreamed(t, built) == 0 {
			t.Fatal("no image built by buildkit-provenance")
		}
	})
}

// checkStreamed compares the reports of the images refs name (those that
// open) and says how many there were.
func checkStreamed(t *testing.T, refs []string) int {
	ctx := context.Background()
	n := 0
	for _, ref := range refs {
		src, err := source.Open(ctx, ref, source.Options{})
		if err != nil {
			continue // the corpus holds images no verb opens
		}
		n++
		img := src.Image()
		res := dockerfile.Render(img, dockerfile.Options{})
		rep := dockerfileReport{img.Reference, img.Platform.String(), nil, res}
		sameJSON(t, ref, rep)
		if len(img.Layers) < 64 {
			im := layerindex.New(src, layerindex.Options{})
			plan, err := buildcontext.Recover(ctx, im, dockerfile.Outline(img, dockerfile.Options{}), buildcontext.Options{})
			if err == nil {
				sameJSON(t, ref+" (deep)", deepReport{dockerfileReport: rep, Context: plan, Written: &buildcontext.Report{Files: 1}})
				sameJSON(t, ref+" (deep, nothing written)", deepReport{dockerfileReport: rep, Context: plan})
			}
		}
		src.Close()
	}
	return n
}

func sameJSON(t *testing.T, what string, rep jsonStreamer) {
	t.Helper()
	var want, got bytes.Buffer
	if err := writeJSON(&want, rep); err != nil {
		t.Fatal(err)
	}
	if err := writeStreamedJSON(&got, rep.jsonFields()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		i := 0
		for i < min(got.Len(), want.Len()) && got.Bytes()[i] == want.Bytes()[i] {
			i++
		}
		t.Errorf("%s: streamed JSON differs at byte %d: %q vs %q", what, i, got.Bytes()[max(0, i-40):min(got.Len(), i+40)], want.Bytes()[max(0, i-40):min(want.Len(), i+40)])
	}
}
