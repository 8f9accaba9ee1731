package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TOC image flavours TOCImages builds.
const (
	EStargz     = "estargz"
	ZstdChunked = "zstd-chunked"
)

// TOCImages returns registry references to testdata/toc/Dockerfile built
// with BuildKit as eStargz and with podman pushed as zstd:chunked, building
// and pushing them first when the registry lacks them. The Dockerfile's
// RUN steps make new layers on every build, so a build happens once per
// registry, not per test run. Needs the registry, buildkitd and podman
// (see Service for a missing one).
func TOCImages(t testing.TB) map[string]string {
	t.Helper()
	reg := Service(t, "STRATA_TEST_REGISTRY")
	bk := Service(t, "STRATA_TEST_BUILDKIT_ADDR")
	out := Service(t, "STRATA_TEST_IMAGES")
	buildctl := os.Getenv("STRATA_TEST_BUILDCTL")
	if buildctl == "" {
		buildctl = "buildctl"
	}
	refs := map[string]string{
		EStargz:     reg + "/strata-test/toc:" + EStargz,
		ZstdChunked: reg + "/strata-test/toc:" + ZstdChunked,
	}
	// Test binaries of several packages may get here at once.
	lock, err := os.OpenFile(filepath.Join(out, ".toc.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx := tocContext(t)
	if !registryHas(reg, "strata-test/toc", EStargz) {
		run(t, buildctl, "--addr", bk, "build", "--progress=quiet", "--frontend", "dockerfile.v0",
			"--local", "context="+ctx, "--local", "dockerfile="+ctx, "--output",
			"type=image,name="+refs[EStargz]+",push=true,registry.insecure=true,compression=estargz,force-compression=true,oci-mediatypes=true")
	}
	if !registryHas(reg, "strata-test/toc", ZstdChunked) {
		run(t, "podman", "build", "-q", "--network=none", "--format", "oci", "-t", refs[ZstdChunked], ctx)
		run(t, "podman", "push", "-q", "--tls-verify=false", "--compression-format", "zstd:chunked", refs[ZstdChunked])
	}
	return refs
}

// tocContext is a build context: the Dockerfile and Debian's busybox.
func tocContext(t testing.TB) string {
	dir := t.TempDir()
	df, err := os.ReadFile(filepath.Join(Testdata(), "toc", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed to build the TOC test images: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func registryHas(reg, repo, tag string) bool {
	req, _ := http.NewRequest(http.MethodHead, fmt.Sprintf("http://%s/v2/%s/manifests/%s", reg, repo, tag), nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
