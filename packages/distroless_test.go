package packages_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/packages"
)

// TestDistrolessStatusD: distroless images keep dpkg's database as one
// file per package under var/lib/dpkg/status.d, each the package's control
// paragraph without dpkg's Status line. The real bookworm database the
// mmdebstrap image holds is laid out that way here, and the packages found
// must be the ones dpkg-query lists for the original.
func TestDistrolessStatusD(t *testing.T) {
	set := testenv.PackageImages(t)
	status, err := os.ReadFile(filepath.Join(set.DpkgAdmin, "status"))
	if err != nil {
		t.Fatal(err)
	}
	members := []ocitest.Member{{Name: "var/lib/dpkg/status.d/", Type: '5', Mode: 0o755}}
	for _, para := range strings.Split(strings.TrimSpace(string(status)), "\n\n") {
		var name string
		var keep []string
		installed := false
		for _, line := range strings.Split(para, "\n") {
			switch {
			case strings.HasPrefix(line, "Package: "):
				name = strings.TrimPrefix(line, "Package: ")
			case strings.HasPrefix(line, "Status: "):
				installed = strings.HasSuffix(line, " installed")
				continue // distroless writes no Status line
			}
			keep = append(keep, line)
		}
		if name == "" || !installed {
			continue
		}
		members = append(members, ocitest.Member{Name: "var/lib/dpkg/status.d/" + name, Mode: 0o644, Body: []byte(strings.Join(keep, "\n") + "\n")})
	}
	if len(members) < 50 {
		t.Fatalf("only %d packages in the mmdebstrap database", len(members)-1)
	}
	ref := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{ocitest.GzipLayer(t, ocitest.Tar(t, members...))})
	res, _ := scan(t, ref)
	out := command(t, "dpkg-query", "--admindir="+set.DpkgAdmin, "-W", "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\n")
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if st, rest, _ := strings.Cut(line, " "); st == "installed" {
			want = append(want, rest)
		}
	}
	sameLines(t, "dpkg status.d", listing(res, packages.Deb, true), want)
	for _, p := range res.Packages {
		if p.Ecosystem == packages.Deb && !strings.HasPrefix(p.Location, "var/lib/dpkg/status.d/") {
			t.Errorf("%s read from %s, not its status.d file", p.Name, p.Location)
			break
		}
	}
}
