package source_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// daemonOptions names the daemon a built image's daemon ref lives in.
func daemonOptions(t *testing.T, label string) source.Options {
	var opts source.Options
	switch label {
	case "docker-daemon":
		opts.DockerHost = testenv.Service(t, "STRATA_TEST_DOCKER_HOST")
	case "docker29-daemon":
		opts.DockerHost = testenv.Service(t, "STRATA_TEST_DOCKER29_HOST")
	case "podman-daemon":
		opts.DockerHost = testenv.Service(t, "STRATA_TEST_PODMAN_HOST")
	}
	return opts
}

// TestPlatformRuleEveryTransport holds every transport of every built image
// to one rule: asking for a platform the image is not fails with
// ErrPlatformNotFound naming what it holds; asking for its own opens it.
// (OCI layouts, oci-archives, BuildKit's tars, crane's layouts, daemons and
// single-manifest registry images used to return the amd64 image for any
// platform asked.)
func TestPlatformRuleEveryTransport(t *testing.T) {
	built := testenv.BuiltImages(t)
	checked := 0
	for _, bi := range built {
		if bi.Name != "single" && bi.Name != "heredoc" {
			continue // every builder and transport, without every Dockerfile
		}
		labels := make([]string, 0, len(bi.Refs))
		for l := range bi.Refs {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		for _, label := range labels {
			t.Run(bi.Name+"/"+bi.Builder+"/"+label, func(t *testing.T) {
				ref := bi.Refs[label]
				opts := daemonOptions(t, label)
				src, err := source.Open(t.Context(), ref, opts)
				if err != nil {
					t.Fatalf("open %s: %v", ref, err)
				}
				own := src.Image().Platform
				src.Close()
				if own.Architecture == "" {
					t.Fatalf("%s names no platform", ref)
				}
				other := image.Platform{OS: "linux", Architecture: "s390x"}
				if own.Architecture == "s390x" {
					other.Architecture = "riscv64"
				}
				opts.Platform = &other
				_, err = source.Open(t.Context(), ref, opts)
				if !errors.Is(err, source.ErrPlatformNotFound) {
					t.Fatalf("asked for %s of a %s image: got %v, want ErrPlatformNotFound", other, own, err)
				}
				if !strings.Contains(err.Error(), own.OS+"/"+own.Architecture) || strings.Count(err.Error(), "\n") > 0 {
					t.Errorf("error does not name the %s it holds in one line: %q", own, err)
				}
				opts.Platform = &image.Platform{OS: own.OS, Architecture: own.Architecture}
				src, err = source.Open(t.Context(), ref, opts)
				if err != nil {
					t.Fatalf("asked for its own platform %s: %v", own, err)
				}
				src.Close()
				checked++
			})
		}
	}
	if checked == 0 {
		t.Fatal("no built image was checked")
	}
}

// multiPlatform builds one FROM-scratch image for two platforms with the
// real BuildKit (no emulation needed: COPY only), with provenance
// attestations, pushed to the real registry and written as an OCI tar;
// skopeo copies it into an OCI layout, an oci-archive and a dir:. It
// returns the refs by label.
func multiPlatform(t *testing.T) map[string]string {
	t.Helper()
	reg := testenv.Service(t, "STRATA_TEST_REGISTRY")
	addr := testenv.Service(t, "STRATA_TEST_BUILDKIT_ADDR")
	buildctl := testenv.Service(t, "STRATA_TEST_BUILDCTL")
	dir := t.TempDir()
	ctxDir := filepath.Join(dir, "ctx")
	os.MkdirAll(ctxDir, 0o755)
	os.WriteFile(filepath.Join(ctxDir, "hello.txt"), []byte("hello from every platform\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nARG TARGETARCH\nCOPY hello.txt /hello.txt\nCMD [\"/hello\"]\n"), 0o644)
	name := fmt.Sprintf("%s/strata-source-test/multi:%d", reg, os.Getpid())
	refs := map[string]string{"registry": name, "buildkit-oci-archive": filepath.Join(dir, "bk-oci.tar")}
	build := func(output string) {
		cmd := exec.Command(buildctl, "--addr", addr, "build", "--frontend", "dockerfile.v0",
			"--local", "context="+ctxDir, "--local", "dockerfile="+ctxDir,
			"--opt", "platform=linux/amd64,linux/arm64", "--opt", "attest:provenance=mode=min", "--output", output)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("buildctl: %v\n%s", err, b)
		}
	}
	build("type=image,name=" + name + ",push=true,registry.insecure=true")
	build("type=oci,dest=" + refs["buildkit-oci-archive"])
	for label, dest := range map[string]string{
		"oci-layout":  "oci:" + filepath.Join(dir, "layout") + ":multi",
		"oci-archive": "oci-archive:" + filepath.Join(dir, "skopeo-oci.tar"),
		"dir":         "dir:" + filepath.Join(dir, "skopeo-dir"),
	} {
		cmd := exec.Command("skopeo", "copy", "--all", "--src-tls-verify=false", "docker://"+name, dest)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy --all to %s: %v\n%s", dest, err, b)
		}
		refs[label] = strings.TrimPrefix(strings.TrimPrefix(dest, "oci-archive:"), "dir:")
	}
	refs["oci-layout"] = strings.TrimPrefix(refs["oci-layout"], "oci:")
	return refs
}

// TestMultiPlatformEveryTransport: one two-platform image, built by BuildKit,
// in the registry, BuildKit's OCI tar, skopeo's layout, oci-archive and
// dir:. Each platform opens by --platform, a missing one lists what there
// is, and OpenPlatforms gives both platforms (never the attestations).
func TestMultiPlatformEveryTransport(t *testing.T) {
	refs := multiPlatform(t)
	amd := image.Platform{OS: "linux", Architecture: "amd64"}
	arm := image.Platform{OS: "linux", Architecture: "arm64"}
	s390x := image.Platform{OS: "linux", Architecture: "s390x"}
	for label, ref := range refs {
		t.Run(label, func(t *testing.T) {
			for _, p := range []image.Platform{amd, arm} {
				src, err := source.Open(t.Context(), ref, source.Options{Platform: &p})
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if got := src.Image().Platform; got.OS != p.OS || got.Architecture != p.Architecture {
					t.Errorf("asked %s, got %s", p, got)
				}
				src.Close()
			}
			_, err := source.Open(t.Context(), ref, source.Options{Platform: &s390x})
			if !errors.Is(err, source.ErrPlatformNotFound) || !strings.Contains(err.Error(), "linux/arm64") {
				t.Errorf("s390x: got %v, want ErrPlatformNotFound listing linux/arm64", err)
			}
			srcs, err := source.OpenPlatforms(t.Context(), ref, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range srcs {
				got = append(got, s.Image().Platform.String())
				if err := readAllLayers(t.Context(), s); err != nil {
					t.Errorf("%s: %v", s.Image().Platform, err)
				}
				s.Close()
			}
			slices.Sort(got)
			if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
				t.Errorf("OpenPlatforms: %v", got)
			}
			// --platform with OpenPlatforms keeps the platforms that satisfy it.
			srcs, err = source.OpenPlatforms(t.Context(), ref, source.Options{Platform: &arm})
			if err != nil || len(srcs) != 1 || srcs[0].Image().Platform.Architecture != "arm64" {
				t.Errorf("OpenPlatforms(arm64): %d sources, %v", len(srcs), err)
			}
			for _, s := range srcs {
				s.Close()
			}
		})
	}
}
