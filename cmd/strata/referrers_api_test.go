package main

import (
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
)

// TestReferrersNativeAPI: a registry that serves the OCI 1.1 referrers API
// is asked through it, not through the fallback tag. Debian's registry
// (distribution 2.8) and distribution v3.1.2 do not serve the API, and zot
// is not on the module proxy, so the registry here is go-containerregistry's
// implementation with referrers support on (the one `crane registry serve`
// runs), on a loopback port; cosign signs into it in OCI 1.1 mode.
func TestReferrersNativeAPI(t *testing.T) {
	s := signed(t) // the key pair and the unsigned image
	var mu sync.Mutex
	var paths []string
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		reg.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	ref := ln.Addr().String() + "/native/signed:v1"
	if err := crane.Copy(s.Unsigned, ref, crane.Insecure); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(filepath.Dir(s.PublicKey), "cosign.key")
	cmd := exec.Command("cosign", "sign", "--key", key, "--tlog-upload=false", "--allow-insecure-registry", "--yes",
		"--registry-referrers-mode=oci-1-1", ref)
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "COSIGN_EXPERIMENTAL=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	digest, err := crane.Digest(ref, crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	paths = nil
	mu.Unlock()
	code, out, errs := runCLI(t, "-o", "json", "referrers", "--verify-key", s.PublicKey, ref)
	var res struct {
		Items    []struct{ Kind, Via string }
		Verified int
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Items) != 1 || res.Items[0].Via != "referrers" || res.Verified != 1 {
		t.Fatalf("exit %d %+v\n%s\n%s", code, res, out, errs)
	}
	mu.Lock()
	defer mu.Unlock()
	// The OCI fallback is the bare sha256-<hex> tag; cosign's own
	// .sig/.att/.sbom tags are another scheme strata reads as well.
	fallbackTag := "GET /v2/native/signed/manifests/" + strings.Replace(digest, ":", "-", 1)
	asked, fallback := false, false
	for _, p := range paths {
		asked = asked || p == "GET /v2/native/signed/referrers/"+digest
		fallback = fallback || p == fallbackTag
	}
	if !asked || fallback {
		t.Errorf("the referrers API was asked: %v; the fallback tag was read: %v\n%s", asked, fallback, strings.Join(paths, "\n"))
	}
}
