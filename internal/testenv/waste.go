package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// WasteImage is the pair testdata/waste builds: app FROM base.
type WasteImage struct {
	Builder   string
	Base, App string
}

// WasteBuilders are the builders WasteImages uses.
var WasteBuilders = []string{"classic", "buildkit", "podman"}

// WasteImages returns registry references to testdata/waste/base and
// testdata/waste/app (FROM that base) built by the classic builder
// (STRATA_TEST_DOCKER_HOST), standalone BuildKit and podman, building and
// pushing them first when the registry lacks them. Tags carry a hash of
// the Dockerfiles, so an edited Dockerfile is built afresh and an
// unchanged one once per registry.
func WasteImages(t testing.TB) []WasteImage {
	t.Helper()
	reg := Service(t, "STRATA_TEST_REGISTRY")
	docker := Service(t, "STRATA_TEST_DOCKER_HOST")
	bk := Service(t, "STRATA_TEST_BUILDKIT_ADDR")
	out := Service(t, "STRATA_TEST_IMAGES")
	buildctl := os.Getenv("STRATA_TEST_BUILDCTL")
	if buildctl == "" {
		buildctl = "buildctl"
	}
	lock, err := os.OpenFile(filepath.Join(out, ".waste.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	base, app := wasteContext(t, "base"), wasteContext(t, "app")
	key := dockerfilesKey(t, base, app)
	var imgs []WasteImage
	for _, b := range WasteBuilders {
		tag := b + "-" + key
		w := WasteImage{Builder: b, Base: reg + "/strata-test/waste-base:" + tag, App: reg + "/strata-test/waste-app:" + tag}
		if !registryHas(reg, "strata-test/waste-app", tag) {
			for _, s := range []struct{ ref, ctx, arg string }{{w.Base, base, ""}, {w.App, app, "BASE=" + w.Base}} {
				buildWaste(t, b, s.ref, s.ctx, s.arg, docker, buildctl, bk)
			}
		}
		imgs = append(imgs, w)
	}
	return imgs
}

func buildWaste(t testing.TB, builder, ref, ctx, arg, docker, buildctl, bk string) {
	t.Helper()
	switch builder {
	case "classic":
		args := []string{"build", "-q", "-t", ref}
		if arg != "" {
			args = append(args, "--build-arg", arg)
		}
		runEnv(t, []string{"DOCKER_HOST=" + docker, "DOCKER_BUILDKIT=0"}, "docker", append(args, ctx)...)
		runEnv(t, []string{"DOCKER_HOST=" + docker}, "docker", "push", "-q", ref)
	case "buildkit":
		args := []string{"--addr", bk, "build", "--progress=quiet", "--frontend", "dockerfile.v0",
			"--local", "context=" + ctx, "--local", "dockerfile=" + ctx,
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}
		if arg != "" {
			args = append(args, "--opt", "build-arg:"+arg)
		}
		run(t, buildctl, args...)
	case "podman":
		args := []string{"build", "-q", "--network=none", "--format", "docker", "-t", ref}
		if arg != "" {
			args = append(args, "--build-arg", arg)
		}
		run(t, "podman", append(args, ctx)...)
		run(t, "podman", "push", "-q", "--tls-verify=false", ref)
	}
}

// wasteContext is a build context: testdata/waste/NAME and busybox.
func wasteContext(t testing.TB, name string) string {
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(Testdata(), "waste", name, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed to build the waste test images: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func dockerfilesKey(t testing.TB, dirs ...string) string {
	h := sha256.New()
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func runEnv(t testing.TB, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
