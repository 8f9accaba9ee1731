package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/testenv"
)

// TestDockerfileProvenanceExact: an image built by BuildKit with
// --opt attest:provenance=mode=max carries its Dockerfile; `strata
// dockerfile` must print it byte for byte (after one comment line), from
// the registry and from BuildKit's OCI layout.
func TestDockerfileProvenanceExact(t *testing.T) {
	n := 0
	for _, b := range testenv.BuiltImages(t) {
		if b.Builder != "buildkit-provenance" {
			continue
		}
		orig, err := os.ReadFile(b.Dockerfile)
		if err != nil {
			t.Fatal(err)
		}
		for _, label := range []string{"registry", "buildkit-oci-layout"} {
			ref := b.Refs[label]
			if ref == "" {
				t.Errorf("%s: no %s ref", b.Name, label)
				continue
			}
			t.Run(b.Name+"/"+label, func(t *testing.T) {
				n++
				code, out, errOut := runCLI(t, "dockerfile", "--insecure", ref)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				first, rest, _ := strings.Cut(out, "\n")
				if !strings.HasPrefix(first, "# ") || !strings.Contains(first, "provenance") {
					t.Errorf("first line %q does not say where the Dockerfile came from", first)
				}
				if rest != string(orig) {
					t.Errorf("printed Dockerfile differs from %s:\n%s", b.Dockerfile, out)
				}
				if strings.Contains(errOut, "note:") {
					t.Errorf("history check disagrees with the recorded Dockerfile: %s", errOut)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("images.json has no buildkit-provenance images")
	}
}

// TestDockerfileDemo: the README's demo image gives a Dockerfile that
// parses, and -o json gives one record per history entry.
func TestDockerfileDemo(t *testing.T) {
	demo := filepath.Join(testenv.Root(), "testdata", "demo", "demo.tar")
	if _, err := os.Stat(demo); err != nil {
		t.Skipf("demo image not built: %v (scripts/make-demo.sh)", err)
	}
	code, out, errOut := runCLI(t, "dockerfile", demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if err := dockerfile.Validate(out); err != nil {
		t.Fatalf("demo Dockerfile does not parse: %v\n%s", err, out)
	}
	for _, want := range []string{"FROM scratch", "USER demo", "EXPOSE 8080", `CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/srv/demo/www"]`} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "-o", "json", "dockerfile", demo)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, errOut)
	}
	var doc struct {
		Dockerfile string `json:"dockerfile"`
		History    []struct {
			CreatedBy  string `json:"created_by"`
			Builder    string `json:"builder"`
			Confidence string `json:"confidence"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.History) == 0 || doc.Dockerfile == "" {
		t.Fatalf("json has %d records and dockerfile %q", len(doc.History), doc.Dockerfile)
	}
	for _, h := range doc.History {
		if h.Builder == "" || h.Confidence == "" {
			t.Errorf("record without builder/confidence: %+v", h)
		}
	}
}

// TestDockerfileDemoRebuilds: the Dockerfile strata prints for the demo
// image builds with the real BuildKit, and the rebuilt image reads back to
// the same instructions (comments aside).
func TestDockerfileDemoRebuilds(t *testing.T) {
	addr := testenv.Service(t, "STRATA_TEST_BUILDKIT_ADDR")
	buildctl := testenv.Service(t, "STRATA_TEST_BUILDCTL")
	demo := filepath.Join(testenv.Root(), "testdata", "demo", "demo.tar")
	if _, err := os.Stat(demo); err != nil {
		t.Skipf("demo image not built: %v (scripts/make-demo.sh)", err)
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("busybox-static not installed: %v", err)
	}
	code, first, errOut := runCLI(t, "dockerfile", demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(first), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(ctxDir, "rebuilt.tar")
	cmd := exec.Command(buildctl, "--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context="+ctxDir, "--local", "dockerfile="+ctxDir, "--output", "type=oci,dest="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the reconstructed Dockerfile does not build: %v\n%s\n%s", err, b, first)
	}
	code, second, errOut := runCLI(t, "dockerfile", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if a, b := instructionsOnly(first), instructionsOnly(second); a != b {
		t.Errorf("rebuilt image reads back differently:\n--- demo\n%s\n--- rebuilt\n%s", a, b)
	}
}

func instructionsOnly(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
