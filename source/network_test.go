package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// Bounds for the fault tests: short enough to run quickly, long enough
// for a loaded 2-core machine to answer a healthy request in time. The
// outer bound every case must end within is far above them: the point is
// "ends, with one line", not a measurement.
var faultTimeouts = source.Timeouts{Connect: 2 * time.Second, Header: 2 * time.Second, Idle: time.Second, Metadata: 5 * time.Second}

const faultBound = 60 * time.Second

// held answers nothing more until the client goes away.
func held(r *http.Request) { <-r.Context().Done() }

// hangingListener accepts connections and never answers, holding them
// until the test ends.
func hangingListener(t *testing.T) string { return testenv.SilentListener(t).Addr().String() }

// checkOneLine: the error is of kind want, one line, and names host.
func checkOneLine(t *testing.T, err error, want error, host string, says ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, want) {
		t.Errorf("got %v, want %v", err, want)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.Contains(msg, "\n") || len(msg) > 600 {
		t.Errorf("not one short line: %q", msg)
	}
	if host != "" && !strings.Contains(msg, host) {
		t.Errorf("error %q does not name %s", msg, host)
	}
	for _, s := range says {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not say %q", msg, s)
		}
	}
}

// TestRegistryFaultsEnd: every kind of faulty peer ends within a bound
// with a one-line error naming the host and what it did not do. Each of
// these used to be waited on forever (or, for Retry-After, for minutes).
func TestRegistryFaultsEnd(t *testing.T) {
	reg := newFaultRegistry(t)
	img := pushTestImage(t, reg.host()+"/app/one:v1", "amd64")
	firstLayer := layerDigests(t, img)[0]
	ref := reg.host() + "/app/one:v1"
	onManifest := func(write func(w http.ResponseWriter, r *http.Request)) func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
		return func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				return false, nil
			}
			return true, func(w http.ResponseWriter) { write(w, r) }
		}
	}
	cases := []struct {
		name   string
		fault  func(r *http.Request, n int) (bool, func(http.ResponseWriter))
		layers bool
		kind   error
		says   []string
		// maxManifestRequests bounds retries of the faulty request.
		maxManifestRequests int
	}{
		{name: "headers-never-sent", kind: source.ErrTimeout, says: []string{"response headers", "Timeouts.Header"},
			fault: onManifest(func(w http.ResponseWriter, r *http.Request) { held(r) })},
		{name: "manifest-dripped", kind: source.ErrTimeout, says: []string{"Timeouts.Metadata"},
			fault: onManifest(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", "4000")
				w.WriteHeader(200)
				for i := 0; i < 4000; i++ {
					if _, err := w.Write([]byte(" ")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-time.After(200 * time.Millisecond):
					case <-r.Context().Done():
						return
					}
				}
			})},
		{name: "manifest-short-content-length-held", kind: source.ErrTimeout, says: []string{"more bytes", "Timeouts.Idle"},
			fault: onManifest(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(200)
				w.Write([]byte(`{"schemaVersion":2,`))
				w.(http.Flusher).Flush()
				held(r)
			})},
		{name: "layer-short-content-length-held", layers: true, kind: source.ErrTimeout, says: []string{"more bytes", "Timeouts.Idle"},
			fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
				if !strings.HasSuffix(r.URL.Path, "/blobs/"+firstLayer) || r.Method != http.MethodGet {
					return false, nil
				}
				return true, func(w http.ResponseWriter) {
					w.Header().Set("Content-Length", "1024")
					w.WriteHeader(200)
					w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
					w.(http.Flusher).Flush()
					held(r)
				}
			}},
		{name: "redirect-loop", kind: source.ErrCorrupt, says: []string{"stopped after 10 redirects"}, maxManifestRequests: 12,
			fault: onManifest(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
			})},
		{name: "429-retry-after-60", kind: source.ErrRateLimited, says: []string{"HTTP 429", "retry in 1m0s", "MaxRetryWait"}, maxManifestRequests: 1,
			fault: onManifest(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusTooManyRequests)
			})},
		{name: "token-endpoint-hangs", kind: source.ErrTimeout, says: []string{"response headers", "/token"},
			fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
				switch {
				case r.URL.Path == "/token":
					return true, func(w http.ResponseWriter) { held(r) }
				case r.Header.Get("Authorization") == "":
					return true, func(w http.ResponseWriter) {
						w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
						w.WriteHeader(http.StatusUnauthorized)
					}
				}
				return false, nil
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg.mu.Lock()
			reg.fault = c.fault
			reg.mu.Unlock()
			defer func() { reg.mu.Lock(); reg.fault = nil; reg.mu.Unlock() }()
			reg.reset()
			err := within(t, faultBound, func() error {
				src, err := source.Open(context.Background(), ref, source.Options{Timeouts: faultTimeouts})
				if err != nil {
					return err
				}
				defer src.Close()
				if !c.layers {
					return errors.New("opened")
				}
				return readAllLayers(context.Background(), src)
			})
			checkOneLine(t, err, c.kind, reg.host(), c.says...)
			if c.maxManifestRequests > 0 {
				n := 0
				for _, r := range reg.requests() {
					if strings.Contains(r, "/manifests/") {
						n++
					}
				}
				if n > c.maxManifestRequests {
					t.Errorf("%d manifest requests, want at most %d", n, c.maxManifestRequests)
				}
			}
		})
	}
}

// TestAcceptAndHang: a registry and a Docker daemon that accept the
// connection and never answer.
func TestAcceptAndHang(t *testing.T) {
	addr := hangingListener(t)
	t.Run("registry", func(t *testing.T) {
		err := within(t, faultBound, func() error {
			_, err := source.Open(context.Background(), addr+"/app:v1", source.Options{Timeouts: faultTimeouts})
			return err
		})
		checkOneLine(t, err, source.ErrTimeout, addr)
	})
	t.Run("daemon", func(t *testing.T) {
		err := within(t, faultBound, func() error {
			_, err := source.Open(context.Background(), "docker-daemon:app:v1", source.Options{DockerHost: "tcp://" + addr, Timeouts: faultTimeouts})
			return err
		})
		checkOneLine(t, err, source.ErrTimeout, addr, "Docker daemon", "response headers")
	})
	t.Run("daemon-save-stalls", func(t *testing.T) {
		save := dockerSave(t, nil)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/json"):
				io.WriteString(w, `{"Id":"sha256:abc","Architecture":"amd64","Os":"linux","RootFS":{"Type":"layers","Layers":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}}`)
			case strings.HasSuffix(r.URL.Path, "/history"):
				io.WriteString(w, `[{"Id":"sha256:abc","CreatedBy":"COPY x /","Size":10}]`)
			case strings.HasSuffix(r.URL.Path, "/get"):
				w.Write(save[:1000])
				w.(http.Flusher).Flush()
				held(r)
			}
		}))
		defer srv.Close()
		host := strings.TrimPrefix(srv.URL, "http://")
		err := within(t, faultBound, func() error {
			src, err := source.Open(context.Background(), "docker-daemon:app:v1", source.Options{DockerHost: "tcp://" + host, Timeouts: faultTimeouts})
			if err != nil {
				return err
			}
			defer src.Close()
			return readAllLayers(context.Background(), src)
		})
		checkOneLine(t, err, source.ErrTimeout, host, "more bytes")
	})
}

// TestCancelInterruptsWaits: Ctrl-C (a cancelled context) ends a wait for
// headers, for a Retry-After and for more bytes of a layer at once, with
// no timeout in play.
func TestCancelInterruptsWaits(t *testing.T) {
	reg := newFaultRegistry(t)
	img := pushTestImage(t, reg.host()+"/app/one:v1", "amd64")
	firstLayer := layerDigests(t, img)[0]
	ref := reg.host() + "/app/one:v1"
	noBounds := source.Options{Timeouts: source.Timeouts{Header: -1, Idle: -1, Metadata: -1}, MaxRetryWait: time.Hour}
	for _, c := range []struct {
		name  string
		fault func(r *http.Request, n int) (bool, func(http.ResponseWriter))
	}{
		{name: "headers", fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.Contains(r.URL.Path, "/manifests/"), func(w http.ResponseWriter) { held(r) }
		}},
		{name: "retry-after", fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.Contains(r.URL.Path, "/manifests/"), func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "600")
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}},
		{name: "layer-body", fault: func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
			return strings.HasSuffix(r.URL.Path, "/blobs/"+firstLayer) && r.Method == http.MethodGet, func(w http.ResponseWriter) {
				w.Header().Set("Content-Length", "1024")
				w.WriteHeader(200)
				w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
				w.(http.Flusher).Flush()
				held(r)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg.mu.Lock()
			reg.fault = c.fault
			reg.mu.Unlock()
			defer func() { reg.mu.Lock(); reg.fault = nil; reg.mu.Unlock() }()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := within(t, faultBound, func() error {
				time.AfterFunc(500*time.Millisecond, cancel)
				src, err := source.Open(ctx, ref, noBounds)
				if err != nil {
					return err
				}
				defer src.Close()
				return readAllLayers(ctx, src)
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
		})
	}
}

// TestRetryAfterReported: a short Retry-After is waited for, and the wait
// is reported through Options.Waiting before it starts.
func TestRetryAfterReported(t *testing.T) {
	reg := newFaultRegistry(t)
	pushTestImage(t, reg.host()+"/app/one:v1", "amd64")
	reg.reset()
	reg.fault = func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
		return strings.Contains(r.URL.Path, "/manifests/") && n <= 2, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}
	var waits []source.Wait
	src, err := source.Open(context.Background(), reg.host()+"/app/one:v1", source.Options{Waiting: func(w source.Wait) { waits = append(waits, w) }})
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	if len(waits) != 1 || waits[0].Status != 429 || waits[0].Delay != time.Second || waits[0].Host != reg.host() {
		t.Fatalf("waits reported: %+v", waits)
	}
	if s := waits[0].String(); !strings.Contains(s, "HTTP 429") || !strings.Contains(s, "retrying in 1s") {
		t.Errorf("wait text %q", s)
	}
}

// staticKeychain hands the same credentials to every registry.
type staticKeychain struct{ cfg authn.AuthConfig }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(k.cfg), nil
}

// TestStrictAuth: a registry that names a token service on another host
// gets the user's credentials sent there, as docker does; with StrictAuth
// they stay on the registry's host (the token service is asked for an
// anonymous token, and an OAuth2 form carrying a secret is refused).
func TestStrictAuth(t *testing.T) {
	var mu sync.Mutex
	var tokenAuth []string
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokenAuth = append(tokenAuth, r.Method+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Method == http.MethodPost {
			r.ParseForm()
		}
		io.WriteString(w, `{"token":"t0k"}`)
	}))
	defer tokens.Close()
	// "localhost", not 127.0.0.1: another host name, and not an IP
	// literal in a private range (go-containerregistry refuses those).
	realm := strings.Replace(tokens.URL, "127.0.0.1", "localhost", 1) + "/token"
	reg := newFaultRegistry(t)
	pushTestImage(t, reg.host()+"/app/one:v1", "amd64")
	reg.fault = func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
		if r.Header.Get("Authorization") == "Bearer t0k" {
			return false, nil
		}
		return true, func(w http.ResponseWriter) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test"`, realm))
			w.WriteHeader(http.StatusUnauthorized)
		}
	}
	ref := reg.host() + "/app/one:v1"
	basic := staticKeychain{authn.AuthConfig{Username: "user", Password: "secret"}}
	open := func(opts source.Options) ([]string, error) {
		mu.Lock()
		tokenAuth = nil
		mu.Unlock()
		src, err := source.Open(context.Background(), ref, opts)
		if err == nil {
			src.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), tokenAuth...), err
	}
	got, err := open(source.Options{Keychain: basic})
	if err != nil || len(got) == 0 || !strings.HasPrefix(got[0], "GET Basic ") {
		t.Fatalf("default (docker's behaviour): token service saw %q, %v", got, err)
	}
	got, err = open(source.Options{Keychain: basic, StrictAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a != "GET " {
			t.Errorf("strict: token service on another host saw credentials: %q", a)
		}
	}
	if len(got) == 0 {
		t.Error("strict: token service never asked")
	}
	_, err = open(source.Options{Keychain: staticKeychain{authn.AuthConfig{IdentityToken: "refresh-secret"}}, StrictAuth: true})
	checkOneLine(t, err, source.ErrUnauthorized, reg.host(), "strict auth")
	mu.Lock()
	for _, a := range tokenAuth {
		if strings.HasPrefix(a, "POST") {
			t.Errorf("strict: the OAuth2 form reached the token service: %q", a)
		}
	}
	mu.Unlock()
}

// TestRegistrySHA512Refused: go-containerregistry verifies registry content
// by sha256 only, so an index entry with a sha512 digest is refused by
// name instead of failing as a confusing digest mismatch.
func TestRegistrySHA512Refused(t *testing.T) {
	reg := newFaultRegistry(t)
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"sha512:%s","size":100,"platform":{"os":"linux","architecture":"amd64"}}]}`,
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json", strings.Repeat("ab", 64))
	reg.fault = func(r *http.Request, n int) (bool, func(http.ResponseWriter)) {
		return r.URL.Path == "/v2/app/sha/manifests/v1", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			io.WriteString(w, index)
		}
	}
	_, err := source.Open(context.Background(), reg.host()+"/app/sha:v1", source.Options{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}})
	checkOneLine(t, err, source.ErrUnsupported, reg.host(), "sha256 only")
}
