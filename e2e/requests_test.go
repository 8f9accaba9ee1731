package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// maxMetadataRequests is issue 2's target for reading an image's metadata
// from a registry: ping, manifest (index, then platform manifest) and config.
const maxMetadataRequests = 4

// countingTransport records every request strata makes, whether it was
// answered, and the body bytes read back.
type countingTransport struct {
	next     http.RoundTripper
	mu       sync.Mutex
	answered []string // "GET /v2/… 200"
	failed   []string // attempts with no HTTP response (e.g. https to a plain-http registry)
	read     int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failed = append(c.failed, r.URL.Scheme+" "+r.Method+" "+r.URL.Path+": "+err.Error())
		return resp, err
	}
	c.answered = append(c.answered, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, resp.StatusCode))
	if resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	c *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.read += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// TestRegistryMetadataWithoutLayers opens images from the real registry
// through a counting transport: no layer blob may be requested, and the
// request count stays within the target. One image per manifest shape: a
// Docker v2s2 manifest (classic), an OCI manifest (buildah) and an OCI index
// with a provenance attestation (BuildKit).
func TestRegistryMetadataWithoutLayers(t *testing.T) {
	built := testenv.BuiltImages(t)
	for _, builder := range []string{"classic", "buildah-layers", "buildkit-provenance"} {
		i := slices.IndexFunc(built, func(bi testenv.BuiltImage) bool { return bi.Name == "single" && bi.Builder == builder })
		if i < 0 {
			t.Errorf("images.json has no single/%s image", builder)
			continue
		}
		regRef := built[i].Refs["registry"]
		t.Run(builder, func(t *testing.T) {
			ref := fetchReference(t, regRef)
			ct := &countingTransport{next: http.DefaultTransport}
			src, err := source.Open(t.Context(), regRef, source.Options{Transport: ct})
			if err != nil {
				t.Fatalf("open %s: %v", regRef, err)
			}
			img := src.Image()
			src.Close()

			var layerReqs []string
			for _, r := range append(slices.Clone(ct.answered), ct.failed...) {
				for _, d := range ref.LayerDigests {
					if strings.Contains(r, "/blobs/"+d) {
						layerReqs = append(layerReqs, r)
					}
				}
			}
			if len(layerReqs) > 0 {
				t.Errorf("opening %s requested layer blobs: %v", regRef, layerReqs)
			}
			// go-containerregistry pings a loopback registry over https and
			// http at once; the https attempt gets no HTTP response from a
			// plain-http registry and is reported, not counted.
			t.Logf("%s: %d requests answered, %d bytes received: %s", regRef, len(ct.answered), ct.read, strings.Join(ct.answered, ", "))
			if len(ct.failed) > 0 {
				t.Logf("%s: %d attempts without an HTTP response: %s", regRef, len(ct.failed), strings.Join(ct.failed, "; "))
			}
			if len(ct.answered) > maxMetadataRequests {
				t.Errorf("%d requests to open %s, target <= %d: %v", len(ct.answered), regRef, maxMetadataRequests, ct.answered)
			}
			if img.ID != ref.ConfigDigest || len(img.Layers) != len(ref.LayerDigests) {
				t.Errorf("model: ID %s with %d layers, registry: config %s with %d layers",
					img.ID, len(img.Layers), ref.ConfigDigest, len(ref.LayerDigests))
			}
		})
	}
}
