package packages_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/packages"
	"github.com/strata-tool/strata/source"
)

// scan opens ref and scans it without a cache.
func scan(t *testing.T, ref string) (*packages.Result, *layerindex.Image) {
	t.Helper()
	ctx := context.Background()
	src, err := source.Open(ctx, ref, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	im := layerindex.New(src, layerindex.Options{})
	res, err := packages.Scan(ctx, im, packages.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res, im
}

// listing renders "name version arch" lines of one ecosystem, sorted.
func listing(res *packages.Result, eco packages.Ecosystem, withArch bool) []string {
	var out []string
	for _, p := range res.Packages {
		if p.Ecosystem != eco {
			continue
		}
		s := p.Name + " " + p.Version
		if withArch {
			s += " " + p.Arch
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the package manager listed nothing: the test would prove nothing", what)
	}
	sort.Strings(want)
	g, w := map[string]bool{}, map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	for _, s := range want {
		w[s] = true
	}
	for s := range w {
		if !g[s] {
			t.Errorf("%s: missing %q", what, s)
		}
	}
	for s := range g {
		if !w[s] {
			t.Errorf("%s: extra %q", what, s)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d packages, the package manager lists %d", what, len(got), len(want))
	}
}

func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// TestDebianDpkg: the dpkg packages of an mmdebstrap root are those
// dpkg-query lists from the same database.
func TestDebianDpkg(t *testing.T) {
	set := testenv.PackageImages(t)
	res, _ := scan(t, set.Debian)
	out := command(t, "dpkg-query", "--admindir="+set.DpkgAdmin, "-W", "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\n")
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		status, rest, _ := strings.Cut(line, " ")
		if status != "not-installed" && status != "config-files" {
			want = append(want, rest)
		}
	}
	sameLines(t, "dpkg", listing(res, packages.Deb, true), want)
	if res.Distro != "debian" || res.DistroVersion != "12" {
		t.Errorf("distro %q %q, want debian 12", res.Distro, res.DistroVersion)
	}
}

// TestDebianPython: Debian's python3-* packages' dist-info and egg-info
// are the distributions pip lists for that directory (PyPI is not
// reachable here; these are real installed distributions all the same).
func TestDebianPython(t *testing.T) {
	set := testenv.PackageImages(t)
	res, _ := scan(t, set.Debian)
	out := command(t, "python3", "-m", "pip", "list", "--path", set.DistPackages, "--format", "json", "--disable-pip-version-check")
	var pip []struct{ Name, Version string }
	if err := json.Unmarshal([]byte(out), &pip); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range pip {
		want = append(want, p.Name+" "+p.Version)
	}
	sameLines(t, "python", lowerNames(listing(res, packages.Python, false)), lowerNames(want))
}

func lowerNames(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		n, v, _ := strings.Cut(l, " ")
		out[i] = strings.ReplaceAll(strings.ToLower(n), "_", "-") + " " + v
	}
	return out
}
