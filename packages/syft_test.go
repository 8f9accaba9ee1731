package packages_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/packages"
)

// syftType maps syft's package types to strata's ecosystems.
var syftType = map[string]packages.Ecosystem{
	"deb": packages.Deb, "apk": packages.APK, "rpm": packages.RPM,
	"python": packages.Python, "npm": packages.NPM, "go-module": packages.Go,
}

// TestSameAsSyft runs syft (scripts/install-deps.sh builds it, pinned) on
// every package test image and compares what the two find. The known
// disagreements, each checked for who is right:
//
//   - Python names: syft normalises (pyyaml), strata keeps the name the
//     metadata and pip list give (PyYAML). Compared normalised.
//   - syft's "binary" classifier recognises programs by version strings
//     (busybox 1.35.0); strata reads package databases only. Left out.
//   - syft lists the project's own package.json (/srv/app, the root npm ls
//     shows as the project, not a dependency); strata lists what is
//     installed under node_modules. Left out.
//   - A Go main module built from a checkout: Go records "(devel)" (go
//     version -m says so, and strata does); syft writes "UNKNOWN".
func TestSameAsSyft(t *testing.T) {
	syft, err := exec.LookPath("syft")
	if err != nil {
		if os.Getenv("STRATA_REQUIRE_SERVICES") == "1" {
			t.Fatal("syft not on PATH: scripts/install-deps.sh builds it into the tool cache")
		}
		t.Skip("syft not on PATH (scripts/install-deps.sh builds it)")
	}
	set := testenv.PackageImages(t)
	fanal := filepath.Join(testenv.Fixtures(t), "images", "fanal")
	for _, ref := range []string{set.Debian, set.Blame, set.RPM, set.Node, set.Go,
		filepath.Join(fanal, "alpine-310.tar.gz"), filepath.Join(fanal, "alpine-311.tar.gz")} {
		start := time.Now()
		target := "registry:" + ref
		if strings.HasSuffix(ref, ".tar.gz") {
			// syft reads docker-archive tarballs uncompressed only.
			target = "docker-archive:" + gunzip(t, ref)
		}
		cmd := exec.Command(syft, "scan", "-q", target, "-o", "json")
		cmd.Env = append(os.Environ(), "SYFT_REGISTRY_INSECURE_USE_HTTP=true", "SYFT_CHECK_FOR_APP_UPDATE=false")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("syft %s: %v", ref, err)
		}
		syftTime := time.Since(start)
		var doc struct {
			Artifacts []struct {
				Name, Version, Type string
				Locations           []struct{ Path string }
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		var theirs []string
		for _, a := range doc.Artifacts {
			eco, ok := syftType[a.Type]
			if !ok {
				t.Logf("%s: syft's %s %s %s left out (not from a package database)", ref, a.Type, a.Name, a.Version)
				continue
			}
			if eco == packages.NPM && len(a.Locations) > 0 && !strings.Contains(a.Locations[0].Path, "/node_modules/") {
				t.Logf("%s: syft's npm %s %s at %s left out (the project itself)", ref, a.Name, a.Version, a.Locations[0].Path)
				continue
			}
			theirs = append(theirs, normalised(eco, a.Name, a.Version))
		}
		start = time.Now()
		res, _ := scan(t, ref)
		ours := []string{}
		for _, p := range res.Packages {
			ours = append(ours, normalised(p.Ecosystem, p.Name, p.Version))
		}
		t.Logf("%s: strata %d packages in %v (cold, no cache), syft %d in %v", ref, len(ours), time.Since(start).Round(time.Millisecond), len(theirs), syftTime.Round(time.Millisecond))
		sameLines(t, ref+" vs syft", dedupe(ours), dedupe(theirs))
	}
}

func gunzip(t *testing.T, p string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	b, err := exec.Command("gzip", "-dc", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func normalised(eco packages.Ecosystem, name, version string) string {
	if eco == packages.Python {
		name = strings.ReplaceAll(strings.ToLower(name), "_", "-")
	}
	if eco == packages.Go && version == "UNKNOWN" {
		version = "(devel)"
	}
	return string(eco) + " " + name + " " + version
}

// dedupe: both tools list a package once per place it is installed; the
// comparison is of what is installed.
func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
