package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// testServer is a Server on a fresh SQLite catalog behind httptest.
type testServer struct {
	*Server
	URL  string
	cat  catalog.Catalog
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// registry is the shared test registry's host:port.
func registry(t *testing.T) string {
	return testenv.Service(t, "STRATA_TEST_REGISTRY")
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	cat, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	logs := &syncBuffer{}
	cfg.Catalog = cat
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
		cfg.ColdRateLimit = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, cat: cat, logs: logs}
}

// get fetches path and returns the response with its body read.
func (ts *testServer) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// catalogue adds registry images to the server's catalog, as `strata
// catalog add` would.
func (ts *testServer) catalogue(t *testing.T, refs ...string) {
	t.Helper()
	ctx := context.Background()
	for _, ref := range refs {
		src, err := source.Open(ctx, ref, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		repo, tag, _ := strings.Cut(ref[strings.LastIndex(ref, "/"):], ":")
		repo = ref[:strings.LastIndex(ref, "/")] + repo
		if err := ts.cat.Add(ctx, catalog.FromImage(src.Image(), catalog.Familiar(repo), tag)); err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
}

// apiSchemas compiles the served OpenAPI description's schemas.
type apiSchemas struct {
	c   *jsonschema.Compiler
	doc map[string]any
}

const openapiURL = "https://strata.invalid/openapi.json"

func loadSchemas(t *testing.T, body []byte) *apiSchemas {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(openapiURL, doc); err != nil {
		t.Fatal(err)
	}
	return &apiSchemas{c: c, doc: doc.(map[string]any)}
}

// validate checks body against components/schemas/name.
func (a *apiSchemas) validate(t *testing.T, name string, body []byte) {
	t.Helper()
	sch, err := a.c.Compile(openapiURL + "#/components/schemas/" + name)
	if err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s response is not JSON: %v\n%s", name, err, body)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s response does not match the OpenAPI description: %v", name, err)
	}
}

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
}
