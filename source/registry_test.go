package source_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// faultRegistry is go-containerregistry's in-process registry behind a
// handler that logs every request and can answer with a fault instead.
type faultRegistry struct {
	*httptest.Server
	mu    sync.Mutex
	log   []string
	times []time.Time
	fault func(r *http.Request, n int) (handled bool, w func(http.ResponseWriter))
}

func newFaultRegistry(t *testing.T) *faultRegistry {
	f := &faultRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.log = append(f.log, r.Method+" "+r.URL.Path)
		f.times = append(f.times, time.Now())
		n := len(f.log)
		fault := f.fault
		f.mu.Unlock()
		if fault != nil {
			if ok, write := fault(r, n); ok {
				write(w)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *faultRegistry) host() string { return strings.TrimPrefix(f.URL, "http://") }

func (f *faultRegistry) reset() {
	f.mu.Lock()
	f.log, f.times = nil, nil
	f.mu.Unlock()
}

func (f *faultRegistry) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// pushTestImage pushes a 3-layer image with history and returns it.
func pushTestImage(t *testing.T, ref string, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.History = []v1.History{{CreatedBy: "ADD rootfs.tar /"}, {CreatedBy: "ENV A=b", EmptyLayer: true}, {CreatedBy: "RUN /bin/sh -c make"}, {CreatedBy: "COPY x /x"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return img
}

func layerDigests(t *testing.T, img v1.Image) []string {
	ls, _ := img.Layers()
	var out []string
	for _, l := range ls {
		d, _ := l.Digest()
		out = append(out, d.String())
	}
	return out
}

func TestRegistryMetadataWithoutLayers(t *testing.T) {
	ctx := context.Background()
	reg := newFaultRegistry(t)
	amd := pushTestImage(t, reg.host()+"/app/one:v1", "amd64")
	arm := pushTestImage(t, reg.host()+"/app/multi:arm", "arm64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	mref, _ := name.ParseReference(reg.host() + "/app/multi:v1")
	if err := remote.WriteIndex(mref, idx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref      string
		platform *image.Platform
		want     v1.Image
		maxReqs  int
	}{
		{ref: reg.host() + "/app/one:v1", want: amd, maxReqs: 3},
		{ref: reg.host() + "/app/multi:v1", platform: &image.Platform{OS: "linux", Architecture: "arm64"}, want: arm, maxReqs: 4},
		{ref: reg.host() + "/app/multi:v1", platform: &image.Platform{OS: "linux", Architecture: "amd64"}, want: amd, maxReqs: 4},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			reg.reset()
			var stats source.HTTPStats
			src, err := source.Open(ctx, tc.ref, source.Options{Platform: tc.platform, Stats: &stats})
			if err != nil {
				t.Fatal(err)
			}
			reqs := reg.requests()
			for _, l := range layerDigests(t, tc.want) {
				for _, r := range reqs {
					if strings.HasSuffix(r, "/blobs/"+l) {
						t.Errorf("layer blob fetched while reading metadata: %s", r)
					}
				}
			}
			if len(reqs) > tc.maxReqs {
				t.Errorf("%d requests, want ≤ %d: %v", len(reqs), tc.maxReqs, reqs)
			}
			if int(stats.Requests.Load()) != len(reqs) {
				t.Errorf("stats counted %d requests, registry saw %d", stats.Requests.Load(), len(reqs))
			}
			wantCfg, _ := tc.want.ConfigFile()
			img := src.Image()
			var wantIDs []string
			for _, d := range wantCfg.RootFS.DiffIDs {
				wantIDs = append(wantIDs, d.String())
			}
			if strings.Join(img.DiffIDs(), ",") != strings.Join(wantIDs, ",") || img.Platform.Architecture != wantCfg.Architecture {
				t.Errorf("model: diff_ids %v platform %v", img.DiffIDs(), img.Platform)
			}
			if img.History[1].Layer != -1 || img.History[2].Layer != 1 || img.PairingProblem != "" {
				t.Errorf("pairing: %+v %q", img.History, img.PairingProblem)
			}
			// A manifest is read through ReadBlob too (attestations).
			if img.Index != nil {
				b, err := src.ReadBlob(ctx, *img.Index.Chosen, 1<<20)
				if err != nil || !strings.Contains(string(b), "layers") {
					t.Errorf("ReadBlob(manifest): %v", err)
				}
			}
			// Layers are streamed only when asked for, and verified.
			if err := readAllLayers(ctx, src); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRegistryFaults(t *testing.T) {
	ctx := context.Background()
	reg := newFaultRegistry(t)
	img := pushTestImage(t, reg.host()+"/app/one:v1", "amd64")
	cfgName, _ := img.ConfigName()
	firstLayer := layerDigests(t, img)[0]
	ref := reg.host() + "/app/one:v1"
	status := func(code int, hdr ...string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(code)
		}
	}
	cases := []struct {
		name    string
		ref     string
		fault   func(r *http.Request, n int) (bool, func(http.ResponseWriter))
		wantErr error
		msg     string
		layers  bool
	}{
		{name: "401", ref: ref, fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return true, status(401, "WWW-Authenticate", `Basic realm="test"`)
		}, wantErr: source.ErrUnauthorized, msg: "docker login"},
		{name: "404-repo", ref: reg.host() + "/no/such:tag", wantErr: source.ErrNotFound, msg: reg.host()},
		{name: "500", ref: ref, fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.Contains(r.URL.Path, "/manifests/"), status(500)
		}, msg: "HTTP 500"},
		{name: "429-retry-after-honoured", ref: ref, fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.Contains(r.URL.Path, "/manifests/") && n <= 2, status(429, "Retry-After", "1")
		}},
		{name: "config-digest-lie", ref: ref, fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.HasSuffix(r.URL.Path, "/blobs/"+cfgName.String()), func(w http.ResponseWriter) {
				w.Write([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":[]}}`))
			}
		}, wantErr: source.ErrDigestMismatch},
		{name: "truncated-layer", ref: ref, layers: true, fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.HasSuffix(r.URL.Path, "/blobs/"+firstLayer) && r.Method == http.MethodGet, func(w http.ResponseWriter) {
				w.Header().Set("Content-Length", "1024")
				w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
			}
		}, wantErr: source.ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg.mu.Lock()
			reg.fault = c.fault
			reg.mu.Unlock()
			defer func() { reg.mu.Lock(); reg.fault = nil; reg.mu.Unlock() }()
			reg.reset()
			src, err := source.Open(ctx, c.ref, source.Options{})
			if c.layers && err == nil {
				err = readAllLayers(ctx, src)
			}
			if c.wantErr == nil && c.msg == "" {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				reg.mu.Lock()
				times := reg.times
				reg.mu.Unlock()
				// The retried manifest request came after the Retry-After wait.
				if len(times) < 3 || times[2].Sub(times[1]) < 900*time.Millisecond {
					t.Errorf("retry did not wait for Retry-After: %v", reg.requests())
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("got %v, want %v", err, c.wantErr)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
		})
	}
}

// TestRegistrySchema1 serves a real schema 1 manifest (containers/image's
// test data) from a registry: it maps into the same model, layers oldest
// first and throwaway layers dropped, without fetching any blob.
func TestRegistrySchema1(t *testing.T) {
	fx := testenv.Fixtures(t)
	raw, err := os.ReadFile(filepath.Join(fx, "images", "containers-image", "manifest-testdata", "v2s1.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg := newFaultRegistry(t)
	req, _ := http.NewRequest(http.MethodPut, reg.URL+"/v2/old/image/manifests/v1", bytes.NewReader(raw))
	req.Header.Set("Content-Type", image.MediaTypeDockerSchema1Signed)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("put schema 1 manifest: %v %v", err, resp)
	}
	reg.reset()
	src, err := source.Open(context.Background(), reg.host()+"/old/image:v1", source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		FSLayers []struct{ BlobSum string } `json:"fsLayers"`
		History  []json.RawMessage          `json:"history"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	img := src.Image()
	if img.SchemaVersion != 1 || len(img.History) != len(m.History) || img.PairingProblem != "" {
		t.Fatalf("model: schema %d, %d history (want %d), %q", img.SchemaVersion, len(img.History), len(m.History), img.PairingProblem)
	}
	// Oldest fsLayer (last in the manifest) is the first layer unless it is
	// a throwaway.
	var want []string
	for i := len(m.FSLayers) - 1; i >= 0; i-- {
		if b := m.FSLayers[i].BlobSum; b != "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4" {
			want = append(want, b)
		}
	}
	if strings.Join(img.BlobDigests(), ",") != strings.Join(want, ",") {
		t.Errorf("layers %v, want %v", img.BlobDigests(), want)
	}
	for _, r := range reg.requests() {
		if strings.Contains(r, "/blobs/") {
			t.Errorf("blob fetched for schema 1 metadata: %s", r)
		}
	}
}
