package source_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/strata-tool/strata/source"
)

// TestDaemonMetadataWithoutSave serves a docker-save archive through a fake
// Engine API and checks that opening uses inspect + history only, and that
// the save is requested once, when a layer is first read.
func TestDaemonMetadataWithoutSave(t *testing.T) {
	save := dockerSave(t, nil)
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	tr := tar.NewReader(bytes.NewReader(save))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if strings.HasSuffix(h.Name, ".json") && h.Name != "manifest.json" {
			b, _ := io.ReadAll(tr)
			json.Unmarshal(b, &cfg)
		}
	}
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/images/test/hello:1/json":
			json.NewEncoder(w).Encode(map[string]any{
				"Id": "sha256:abc", "RepoTags": []string{"test/hello:1"}, "Architecture": "amd64", "Os": "linux",
				"Created": "2024-01-02T03:04:05Z",
				"Config":  map[string]any{"Cmd": []string{"/hello"}, "Env": []string{"A=b c"}},
				"RootFS":  map[string]any{"Type": "layers", "Layers": cfg.RootFS.DiffIDs},
			})
		case "/images/test/hello:1/history":
			json.NewEncoder(w).Encode([]map[string]any{
				{"Id": "sha256:abc", "Created": 1704164645, "CreatedBy": "/bin/sh -c #(nop)  CMD [\"/hello\"]", "Size": 0},
				{"Id": "<missing>", "Created": 1704164640, "CreatedBy": "/bin/sh -c #(nop) COPY file:abc in / ", "Size": 60000},
			})
		case "/images/test/hello:1/get":
			w.Write(save)
		case "/images/missing:1/json":
			w.WriteHeader(404)
			w.Write([]byte(`{"message":"No such image: missing:1"}`))
		default:
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	opts := source.Options{DockerHost: "tcp://" + strings.TrimPrefix(srv.URL, "http://")}
	src, err := source.Open(ctx, "docker-daemon:test/hello:1", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	img := src.Image()
	if img.Transport != "daemon" || len(img.History) != 2 || img.History[0].Layer != 0 || !img.History[1].EmptyLayer ||
		img.Config.Config.Env[0] != "A=b c" || img.DiffIDs()[0] != cfg.RootFS.DiffIDs[0] || img.PairingProblem != "" {
		t.Fatalf("model: %+v", img)
	}
	mu.Lock()
	if strings.Join(paths, " ") != "/images/test/hello:1/json /images/test/hello:1/history" {
		t.Errorf("metadata requests: %v", paths)
	}
	mu.Unlock()
	if err := readAllLayers(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := readAllLayers(ctx, src); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	saves := strings.Count(strings.Join(paths, " "), "/get")
	mu.Unlock()
	if saves != 1 {
		t.Errorf("save requested %d times, want once", saves)
	}
	_, err = source.Open(ctx, "docker-daemon:missing:1", opts)
	if err == nil || !strings.Contains(err.Error(), "No such image: missing:1") {
		t.Errorf("missing image: %v", err)
	}
}
