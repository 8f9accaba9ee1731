package packages_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/packages"
)

// TestBlameEverySource: the blame image read from the registry, from an
// OCI layout and a docker-archive tarball crane writes of it, and from
// dockerd after docker load gives the same packages, removals and blame.
func TestBlameEverySource(t *testing.T) {
	set := testenv.PackageImages(t)
	dir := t.TempDir()
	testenv.Run(t, "crane", "pull", "--insecure", "--format=oci", set.Blame, filepath.Join(dir, "layout"))
	tarball := filepath.Join(dir, "blame.tar")
	testenv.Run(t, "crane", "pull", "--insecure", set.Blame, tarball)
	refs := []string{"oci:" + filepath.Join(dir, "layout"), tarball}
	if host := os.Getenv("STRATA_TEST_DOCKER_HOST"); host != "" {
		cmd := exec.Command("docker", "-H", host, "load", "-i", tarball)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker load: %v\n%s", err, out)
		}
		t.Setenv("DOCKER_HOST", host)
		refs = append(refs, "docker-daemon:"+set.Blame)
	}
	want, _ := scan(t, set.Blame)
	strip := func(ps []packages.Package) []packages.Package {
		out := make([]packages.Package, len(ps))
		for i, p := range ps {
			p.Instruction = "" // a daemon's history has no empty_layer flags but the same text
			out[i] = p
		}
		return out
	}
	for _, ref := range refs {
		got, _ := scan(t, ref)
		if !reflect.DeepEqual(strip(got.Packages), strip(want.Packages)) || !reflect.DeepEqual(strip(got.Removed), strip(want.Removed)) {
			t.Errorf("%s: %d packages, %d removed; the registry gives %d and %d, or their blame differs",
				ref, len(got.Packages), len(got.Removed), len(want.Packages), len(want.Removed))
		}
	}
}
