package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

func runDiffCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append([]string{"diff"}, args...)...)
}

func TestDiffExitCodes(t *testing.T) {
	fx := testenv.Fixtures(t)
	a310 := filepath.Join(fx, "images", "fanal", "alpine-310.tar.gz")
	a311 := filepath.Join(fx, "images", "fanal", "alpine-311.tar.gz")
	cases := []struct {
		args []string
		code int
		say  string // on stdout for 0/1, stderr for 2
	}{
		{[]string{a310, a310}, 0, "verdict: same content"},
		{[]string{a310, a311}, 1, "verdict: different"},
		{[]string{"--files", "--ignore-timestamps", "--path", "/etc/apk", a310, a311}, 1, "~ /etc/apk/repositories  content"},
		{[]string{a310}, 2, "two image references"},
		{[]string{a310, "./no/such/file.tar"}, 2, "image B"},
		{[]string{"--no-such-flag", a310, a311}, 2, "unknown flag"},
		{[]string{"-o", "yaml", a310, a311}, 2, "want text or json"},
		{[]string{"--color", "sometimes", a310, a311}, 2, "want auto, always or never"},
	}
	for _, c := range cases {
		code, stdout, stderr := runDiffCLI(t, c.args...)
		if code != c.code {
			t.Errorf("diff %v: exit %d, want %d (stderr %q)", c.args, code, c.code, stderr)
		}
		where := stdout
		if c.code == 2 {
			where = stderr
		}
		if !strings.Contains(where, c.say) {
			t.Errorf("diff %v: output does not say %q:\n%s%s", c.args, c.say, stdout, stderr)
		}
		if strings.Contains(stdout, "\x1b[") {
			t.Errorf("diff %v: colour codes written to a non-terminal", c.args)
		}
	}
}

func TestDiffJSON(t *testing.T) {
	fx := testenv.Fixtures(t)
	repo := filepath.Join(fx, "images", "regclient", "testrepo")
	code, stdout, stderr := runDiffCLI(t, "--files", "oci:"+repo+":v1", "oci:"+repo+":v2", "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (different); stderr %s", code, stderr)
	}
	var got struct {
		Verdict            string
		SharedLayers       int
		FirstDifferingStep struct{ Step int }
		Files              struct {
			Changes []struct{ Path, Kind string }
			Read    struct{ Layers int }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, stdout)
	}
	if got.Verdict != "different" || got.SharedLayers != 2 || got.FirstDifferingStep.Step != 5 ||
		len(got.Files.Changes) != 1 || got.Files.Changes[0].Path != "/layer2" || got.Files.Read.Layers != 1 {
		t.Errorf("JSON = %+v", got)
	}
}

func TestDiffColourOnlyWhenAsked(t *testing.T) {
	fx := testenv.Fixtures(t)
	a := filepath.Join(fx, "images", "fanal", "alpine-310.tar.gz")
	b := filepath.Join(fx, "images", "fanal", "alpine-311.tar.gz")
	_, plain, _ := runDiffCLI(t, a, b)
	_, painted, _ := runDiffCLI(t, "--color", "always", a, b)
	// alpine 3.10 → 3.11 changes the root file system's ADD: painted as a
	// changed step (yellow), never painted on a buffer by default.
	if strings.Contains(plain, "\x1b[") || !strings.Contains(painted, "\x1b[33m") || !strings.Contains(painted, "layer differs") {
		t.Errorf("colour: auto on a buffer must be plain, --color always must paint")
	}
}
