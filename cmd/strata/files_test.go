package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/testenv"
)

// httpLine is the --http-stats line of stderr.
func httpLine(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "http: ") {
			return l
		}
	}
	t.Fatalf("no http stats in %q", stderr)
	return ""
}

// TestFilesSecondRunReadsNoLayer: the second `files` of a gzip registry
// image costs exactly what `layers` costs (manifest and config): the
// layer indexes come from the cache.
func TestFilesSecondRunReadsNoLayer(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ref := testenv.BuiltRef(t, "single", "classic", "registry")
	_, _, meta := runCLI(t, "layers", "--http-stats", ref)
	code, first, errs1 := runCLI(t, "files", "--http-stats", ref)
	if code != 0 {
		t.Fatal(errs1)
	}
	code, second, errs2 := runCLI(t, "files", "--http-stats", ref)
	if code != 0 {
		t.Fatal(errs2)
	}
	if first != second {
		t.Error("the cached listing differs from the first")
	}
	if httpLine(t, errs1) == httpLine(t, meta) {
		t.Errorf("the first run read no layer: %s", httpLine(t, errs1))
	}
	if httpLine(t, errs2) != httpLine(t, meta) {
		t.Errorf("second files: %s; layers (metadata only): %s", httpLine(t, errs2), httpLine(t, meta))
	}
	code, _, errs3 := runCLI(t, "files", "--no-cache", "--http-stats", ref)
	if code != 0 || httpLine(t, errs3) != httpLine(t, errs1) {
		t.Errorf("--no-cache: %s, want the first run's %s", httpLine(t, errs3), httpLine(t, errs1))
	}
}

// TestFilesJSONCatAndChanges on the `single` test image: fields of a file
// the Dockerfile writes, its blame against `layers`, cat through a
// symlink, and the step that deletes.
func TestFilesJSONCatAndChanges(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ref := testenv.BuiltRef(t, "single", "buildkit", "registry")
	code, out, errs := runCLI(t, "files", "-o", "json", "--path", "app/**", ref)
	var rows []filelist.Row
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil {
		t.Fatalf("files -o json: exit %d, %s", code, errs)
	}
	var lr layersReport
	_, lout, _ := runCLI(t, "layers", "-o", "json", ref)
	json.Unmarshal([]byte(lout), &lr)
	found := false
	for _, r := range rows {
		if r.Path != "app/greeting.txt" {
			continue
		}
		found = true
		h := sha256.Sum256([]byte("hello\n"))
		if r.Type != "file" || r.Mode != 0o644 || r.UID != 0 || r.GID != 0 || r.Size != 6 || r.Digest != "sha256:"+hex.EncodeToString(h[:]) || r.Link != "" {
			t.Errorf("app/greeting.txt: %+v", r)
		}
		if r.Step < 1 || r.Step > len(lr.Steps) || !strings.Contains(lr.Steps[r.Step-1].Instruction, "greeting.txt") ||
			lr.Steps[r.Step-1].Layer == nil || *lr.Steps[r.Step-1].Layer != r.Layer {
			t.Errorf("app/greeting.txt blamed on step %d layer %d", r.Step, r.Layer)
		}
	}
	if !found || len(rows) < 3 {
		t.Fatalf("--path app/** gave %d rows, greeting.txt found: %v", len(rows), found)
	}
	busybox, _ := os.ReadFile("/bin/busybox")
	t.Setenv("DOCKER_HOST", testenv.Service(t, "STRATA_TEST_DOCKER_HOST"))
	for _, label := range []string{"registry", "docker-archive", "docker-archive-gzip", "oci-layout-zstd", "docker29-archive", "docker-daemon"} {
		code, sh, errs := runCLI(t, "cat", testenv.BuiltRef(t, "single", "buildkit", label), "/bin/sh")
		if code != 0 || sh != string(busybox) {
			t.Errorf("%s: cat /bin/sh (a symlink to busybox): exit %d, %d bytes (want %d), %s", label, code, len(sh), len(busybox), errs)
		}
	}
	code, out, _ = runCLI(t, "files", "--changes", "-o", "json", ref)
	var changes []filelist.Row
	json.Unmarshal([]byte(out), &changes)
	deleted := map[string]int{}
	for _, c := range changes {
		if c.Change == "deleted" {
			deleted[c.Path] = c.Step
		}
	}
	rm := deleted["app/keep.txt"]
	if code != 0 || rm == 0 || deleted["tmp/junk"] != rm || !strings.Contains(lr.Steps[rm-1].Instruction, "rm -rf") {
		t.Errorf("--changes deletions %v (step %d)", deleted, rm)
	}
	code, tree, _ := runCLI(t, "files", "--tree", "--path", "app", ref)
	if code != 0 || !strings.Contains(tree, "\n         6      greeting.txt  (step ") {
		t.Errorf("--tree:\n%s", tree)
	}
}
