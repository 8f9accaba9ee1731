package e2e

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// TestIndexProgressOnTerminalOnly: a verb that reads inside layers shows
// how many layer bytes it has read on a terminal's stderr, clears that
// line before it prints, and says nothing of it to a pipe.
func TestIndexProgressOnTerminalOnly(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script (util-linux) is not installed")
	}
	bin := buildStrata(t, t.TempDir())
	ref := filepath.Join(testenv.Testdata(), "demo", "demo.tar")
	const meter, clearLine = "strata: indexing layers", "\r\x1b[K"
	for _, verb := range [][]string{{"waste"}, {"files"}, {"secrets"}} {
		t.Run(verb[0], func(t *testing.T) {
			args := append(append([]string{}, verb...), "--no-cache", ref)
			// script gives the program a pseudo-terminal for stdout and
			// stderr and copies what it writes, escapes and all.
			tty, err := exec.Command(script, "-qec", bin+" "+strings.Join(args, " "), "/dev/null").Output()
			if err != nil && verb[0] != "secrets" { // secrets exits 1 when it finds some
				t.Fatalf("%s on a terminal: %v\n%s", verb[0], err, tty)
			}
			out := string(tty)
			first := strings.Index(out, meter)
			if first < 0 {
				t.Fatalf("no progress line on a terminal:\n%q", out)
			}
			last := strings.LastIndex(out, clearLine)
			if last < first {
				t.Fatalf("the progress line is never cleared:\n%q", out)
			}
			rest := out[last+len(clearLine):]
			if strings.Contains(rest, meter) || !strings.HasPrefix(rest, strings.SplitN(pipeOutput(t, bin, args), "\n", 2)[0]) {
				t.Errorf("after the cleared progress line the terminal shows\n%q\nnot the verb's output", rest)
			}
		})
	}
}

// pipeOutput runs strata with stdout and stderr on pipes: the meter must
// stay silent there.
func pipeOutput(t *testing.T, bin string, args []string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	if strings.Contains(stderr.String()+stdout.String(), "indexing layers") || strings.Contains(stderr.String(), "\x1b") {
		t.Errorf("progress written to a pipe:\n%q", stderr.String())
	}
	if stdout.Len() == 0 {
		t.Fatalf("strata %s printed nothing: %s", strings.Join(args, " "), stderr.String())
	}
	return strings.ReplaceAll(stdout.String(), "\n", "\r\n")
}
