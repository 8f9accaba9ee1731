package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/internal/testenv"
)

// TestServeKeepsIndexesInCatalog: the layer indexes `strata serve` makes
// for its files view go to its catalog's database, where `strata files
// --index-store` (or another replica) reads them without fetching a layer.
func TestServeKeepsIndexesInCatalog(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the cache directory stays out of it
	ref := testenv.BuiltRef(t, "single", "buildkit", "registry")
	registry := testenv.Service(t, "STRATA_TEST_REGISTRY")
	db := filepath.Join(t.TempDir(), "catalog.db")
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	var serveErr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--catalog", db, "--allow-registry", registry, "--workers", "0", "--log-level", "error"},
			strings.NewReader(""), io.Discard, &serveErr)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	defer stop()
	waitHealthy(t, "http://"+addr+"/healthz", done)
	resp, err := http.Get("http://" + addr + "/v1/images/" + ref + "/-/files")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"path"`)) {
		t.Fatalf("files view: %s\n%.400s\n%s", resp.Status, body, serveErr.String())
	}
	stop()

	_, _, meta := runCLI(t, "layers", "--http-stats", ref)
	code, out, errs := runCLI(t, "files", "--http-stats", "--index-store", db, ref)
	if code != 0 || out == "" {
		t.Fatalf("files --index-store: exit %d: %s", code, errs)
	}
	if httpLine(t, errs) != httpLine(t, meta) {
		t.Errorf("files with the server's indexes: %s; layers (metadata only): %s", httpLine(t, errs), httpLine(t, meta))
	}
}

// freeAddr is a loopback address no one listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits for the server's health check, or for it to exit.
func waitHealthy(t *testing.T, url string, exited <-chan int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-exited:
			t.Fatalf("serve exited with %d before answering", code)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(fmt.Errorf("no answer from %s in 30 s", url))
}
