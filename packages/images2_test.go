package packages_test

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/packages"
)

// TestRPMSQLite: the rpm image's packages are what Debian's rpm lists
// from the same SQLite database, and the second COPY step is blamed for
// the upgrade and the new package.
func TestRPMSQLite(t *testing.T) {
	set := testenv.PackageImages(t)
	res, _ := scan(t, set.RPM)
	out := command(t, "rpm", "--root", set.RPMRoots[1], "--dbpath", "/var/lib/rpm", "-qa",
		"--qf", "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH}\n")
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		want = append(want, strings.Replace(l, " (none):", " ", 1))
	}
	sameLines(t, "rpm", listing(res, packages.RPM, true), want)
	byName := map[string]packages.Package{}
	for _, p := range res.Packages {
		byName[p.Name] = p
	}
	for name, w := range map[string]struct {
		step   int
		change packages.Change
		lic    string
	}{
		"strata-r1": {2, packages.Upgraded, "MIT"},
		"strata-r2": {1, packages.Installed, "GPL-2.0-or-later"},
		"strata-r3": {2, packages.Installed, "(MIT OR Apache-2.0)"},
	} {
		p := byName[name]
		if p.Step != w.step || p.Change != w.change || p.License != w.lic {
			t.Errorf("%s: step %d %s licence %q, want step %d %s %q", name, p.Step, p.Change, p.License, w.step, w.change, w.lic)
		}
	}
}

// TestNPM: the node_modules packages are those npm ls lists (every
// installed copy, nested ones included), each at its own location.
func TestNPM(t *testing.T) {
	set := testenv.PackageImages(t)
	res, _ := scan(t, set.Node)
	cmd := command(t, "npm", "--prefix", set.NodeDir, "ls", "--all", "--json", "--long")
	var tree npmNode
	if err := json.Unmarshal([]byte(cmd), &tree); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	tree.walk(func(n *npmNode) {
		if n.Path != "" && n.Version != "" {
			rel, _ := filepath.Rel(set.NodeDir, n.Path)
			want["srv/app/"+rel+"/package.json "+n.Name+" "+n.Version] = true
		}
	})
	var got, wantList []string
	for k := range want {
		wantList = append(wantList, k)
	}
	for _, p := range res.Packages {
		if p.Ecosystem == packages.NPM {
			got = append(got, p.Location+" "+p.Name+" "+p.Version)
		}
	}
	sameLines(t, "npm", got, wantList)
}

type npmNode struct {
	Name         string              `json:"name"`
	Version      string              `json:"version"`
	Path         string              `json:"path"`
	Dependencies map[string]*npmNode `json:"dependencies"`
}

// walk visits each installed copy once (npm ls repeats deduped ones).
func (n *npmNode) walk(fn func(*npmNode)) {
	for name, d := range n.Dependencies {
		if d.Name == "" {
			d.Name = name
		}
		fn(d)
		d.walk(fn)
	}
}

// TestGoBinaries: each Go binary's main module, dependencies and
// toolchain are what go version -m reads from it; busybox, as large but
// not Go, yields nothing.
func TestGoBinaries(t *testing.T) {
	set := testenv.PackageImages(t)
	res, _ := scan(t, set.Go)
	for inImage, host := range set.GoBinaries {
		out := command(t, "go", "version", "-m", host)
		var want []string
		sc := bufio.NewScanner(strings.NewReader(out))
		replaced := map[string]string{}
		var order []string
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) >= 2 && strings.HasSuffix(f[0], ":"):
				want = append(want, "stdlib "+f[1])
			case len(f) >= 3 && (f[0] == "mod" || f[0] == "dep"):
				replaced[f[1]] = f[2]
				order = append(order, f[1])
			case len(f) >= 2 && f[0] == "=>":
				v := "(devel)"
				if len(f) >= 3 && strings.HasPrefix(f[2], "v") {
					v = f[2]
				}
				replaced[order[len(order)-1]] = v
			}
		}
		for _, m := range order {
			want = append(want, m+" "+replaced[m])
		}
		var got []string
		for _, p := range res.Packages {
			if p.Ecosystem == packages.Go && p.Location == inImage {
				got = append(got, p.Name+" "+p.Version)
			}
		}
		sameLines(t, inImage, got, want)
	}
	for _, p := range res.Packages {
		if p.Location == "bin/busybox" {
			t.Errorf("busybox is not a Go binary: %+v", p)
		}
	}
	if res.Candidates != 3 {
		t.Errorf("%d executables examined, want 3 (gohello, crane, busybox)", res.Candidates)
	}
}

// TestAlpineAPK: the fanal Alpine images' packages are the P:/V:/A:
// lines of their apk database, read here by a separate, plain parse.
func TestAlpineAPK(t *testing.T) {
	dir := filepath.Join(testenv.Fixtures(t), "images", "fanal")
	for _, name := range []string{"alpine-310.tar.gz", "alpine-311.tar.gz"} {
		ref := filepath.Join(dir, name)
		res, im := scan(t, ref)
		fsys, err := im.Merge(len(im.Image.Layers))
		if err != nil {
			t.Fatal(err)
		}
		f, ok := fsys.Lookup("lib/apk/db/installed")
		if !ok {
			t.Fatalf("%s: no apk database", name)
		}
		rc, err := im.Open(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		var p, v, a string
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "P:"):
				p = line[2:]
			case strings.HasPrefix(line, "V:"):
				v = line[2:]
			case strings.HasPrefix(line, "A:"):
				a = line[2:]
			case line == "" && p != "":
				want = append(want, p+" "+v+" "+a)
				p = ""
			}
		}
		if p != "" {
			want = append(want, p+" "+v+" "+a)
		}
		rc.Close()
		sameLines(t, name, listing(res, packages.APK, true), want)
	}
}

// TestBlame: the blame image installs, upgrades, removes and downgrades
// in separate RUN steps (testdata/packages/Dockerfile.blame); each change
// is reported at its step.
func TestBlame(t *testing.T) {
	set := testenv.PackageImages(t)
	res, im := scan(t, set.Blame)
	steps := map[int]string{}
	for _, s := range im.Steps {
		steps[s.Step] = s.Instruction
	}
	find := func(ps []packages.Package, name string) packages.Package {
		for _, p := range ps {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("%s not found", name)
		return packages.Package{}
	}
	type ev struct {
		change  packages.Change
		step    int
		version string
	}
	check := func(p packages.Package, want []ev) {
		t.Helper()
		var got []ev
		for _, e := range p.History {
			got = append(got, ev{e.Change, e.Step, e.Version})
		}
		if len(got) != len(want) {
			t.Fatalf("%s history %v, want %v", p.Name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s event %d: %v, want %v (step %d: %s)", p.Name, i, got[i], want[i], got[i].step, steps[got[i].step])
			}
		}
	}
	check(find(res.Packages, "strata-a"), []ev{{packages.Installed, 4, "1.0"}, {packages.Upgraded, 5, "2.0"}, {packages.Downgraded, 8, "1.5"}})
	check(find(res.Removed, "strata-b"), []ev{{packages.Installed, 4, "1.0"}, {packages.Removed, 6, "1.0"}})
	check(find(res.Packages, "strata-c"), []ev{{packages.Installed, 8, "1:3.0-1"}})
	if !strings.Contains(steps[6], "dpkg --purge strata-b") || !strings.Contains(steps[5], "strata-a_2.0.deb") {
		t.Errorf("steps 5 and 6 are %q and %q: the Dockerfile and the test disagree", steps[5], steps[6])
	}
	// Step 7 touched no package, and the base's packages stay at step 1.
	for _, p := range res.Packages {
		if p.Step == 7 || (!strings.HasPrefix(p.Name, "strata-") && p.Step != 1) {
			t.Errorf("%s blamed on step %d", p.Name, p.Step)
		}
	}
}
