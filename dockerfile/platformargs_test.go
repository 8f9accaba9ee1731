package dockerfile_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestPlatformArgsBare builds testdata/platform-args with the real BuildKit,
// which records its automatic platform ARGs with the values of this build
// (`ARG TARGETPLATFORM=linux/amd64`). Pinning them would make the printed
// Dockerfile build for amd64 on every platform: they come back bare, exactly
// as the original declares them, while an ordinary ARG keeps its default.
func TestPlatformArgsBare(t *testing.T) {
	addr := testenv.Service(t, "STRATA_TEST_BUILDKIT_ADDR")
	buildctl := testenv.Service(t, "STRATA_TEST_BUILDCTL")
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("busybox-static not installed: %v", err)
	}
	original, err := os.ReadFile(filepath.Join("testdata", "platform-args", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	for name, body := range map[string][]byte{"Dockerfile": original, "busybox": busybox} {
		if err := os.WriteFile(filepath.Join(ctxDir, name), body, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	cmd := exec.Command(buildctl, "--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context="+ctxDir, "--local", "dockerfile="+ctxDir, "--output", "type=oci,dest="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, b)
	}
	src, err := source.Open(context.Background(), out, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	img := src.Image()
	recorded := 0
	for _, h := range img.History {
		if strings.HasPrefix(h.CreatedBy, "ARG TARGETPLATFORM=") {
			recorded++
		}
	}
	if recorded != 1 {
		t.Fatalf("BuildKit no longer records the platform ARG's value; the test proves nothing:\n%+v", img.History)
	}
	res := dockerfile.Render(img, dockerfile.Options{})
	if err := dockerfile.Validate(res.Text); err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, res.Text)
	}
	want := argLines(string(original))
	if got := argLines(res.Text); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ARG lines\n%s\nwant (the original's)\n%s\nin\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Text)
	}
}

func argLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "ARG ") {
			out = append(out, l)
		}
	}
	return out
}
