package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strata-tool/strata/internal/hostile"
)

// terminalControl finds what could act on a terminal in text output:
// C0 controls but tab, newline and CR LF; DEL; C1; bidi controls.
var terminalControl = regexp.MustCompile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|\r[^\n]|\r$")

func assertNoControl(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8 in text output: %q", what, s)
	}
	if m := terminalControl.FindStringIndex(s); m != nil {
		t.Errorf("%s: terminal control %q at byte %d: …%q…", what, s[m[0]:m[1]], m[0], s[max(0, m[0]-40):min(len(s), m[1]+40)])
	}
}

// TestImageTextNeverDrivesTheTerminal runs every text verb on an image
// (generated here) whose history, config, annotations and tags are full of
// ESC sequences, OSC 52, BEL, backspace, bare CR, C1 and bidi controls:
// stdout and stderr hold none of them raw, only visible escapes.
func TestImageTextNeverDrivesTheTerminal(t *testing.T) {
	dir := t.TempDir()
	var refs []string
	for _, c := range hostile.Metadata()[:2] {
		ref, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	db := filepath.Join(dir, "catalog.db")
	for _, ref := range refs {
		for _, args := range [][]string{
			{"layers", ref}, {"layers", "--no-trunc", ref}, {"dockerfile", ref}, {"dockerfile", "--layers", ref},
			{"base", "--catalog", db, ref}, {"diff", ref, refs[0]}, {"diff", "--files", ref, refs[0]},
			{"catalog", "add", "--catalog", db, ref}, {"catalog", "ls", "--catalog", db},
			{"inspect", ref}, {"layers", "-o", "json", ref},
		} {
			code, out, errs := runCLI(t, args...)
			if code != 0 && !(args[0] == "diff" && code == 1) {
				t.Errorf("%v: exit %d: %s", args, code, errs)
			}
			assertNoControl(t, strings.Join(args, " ")+" (stdout)", out)
			assertNoControl(t, strings.Join(args, " ")+" (stderr)", errs)
		}
	}
	// Export to stdout stays JSON (DEL, C1 and bidi as \u escapes).
	_, out, _ := runCLI(t, "catalog", "export", "--catalog", db)
	assertNoControl(t, "catalog export", out)
	if !json.Valid([]byte(out)) || !strings.Contains(out, `del\u007f`) {
		t.Errorf("catalog export is not JSON with escaped controls: %.300s", out)
	}
	// The raw text is still there to read, escaped.
	_, out, _ = runCLI(t, "layers", refs[0])
	if !strings.Contains(out, `\x1b]52;c;ZXZpbA==\x07`) || !strings.Contains(out, `\u202e`) {
		t.Errorf("escapes not shown:\n%s", out)
	}
}

// TestErrorLinesEscaped: an error quoting image text (the tags of a
// docker save archive that holds no such image) is one line, escaped.
func TestErrorLinesEscaped(t *testing.T) {
	c := hostile.Metadata()[1] // control-characters-archive: tag "evil<controls>:latest"
	ref, err := c.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "layers", ref+":nosuch")
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, `evil\x1b[2J`) {
		t.Errorf("exit %d, stderr %q: want one line naming the escaped tag", code, errs)
	}
	assertNoControl(t, "error line", errs)
}

// TestDiffColourKeepsOnlyOwnSGR: with --color always the only escape
// sequences are strata's own colours; the images' text is escaped.
func TestDiffColourKeepsOnlyOwnSGR(t *testing.T) {
	dir := t.TempDir()
	a, err := hostile.Metadata()[0].Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hostile.Metadata()[2].Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "diff", "--color", "always", a, b)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	own := regexp.MustCompile("\x1b\\[(1|31|32|33|0)m")
	rest := own.ReplaceAllString(out, "")
	if !own.MatchString(out) {
		t.Error("no colour with --color always")
	}
	assertNoControl(t, "diff --color", rest)
}

// TestPanicIsOneLine: a panic in a verb (a strata bug an image found)
// ends with one line on stderr and the verb's error code, no stack dump.
func TestPanicIsOneLine(t *testing.T) {
	var errb bytes.Buffer
	code := func() (code int) {
		a := &app{errorCode: 2}
		defer recoverInternal(a, &errb, &code)
		panic("index out of range\nsecond line \x1b]0;t\x07")
	}()
	if code != 2 || strings.Count(errb.String(), "\n") != 1 || !strings.HasPrefix(errb.String(), "strata: internal error") ||
		!strings.Contains(errb.String(), `second line \x1b]0;t\x07`) {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
