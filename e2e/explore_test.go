package e2e

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/internal/testenv"
)

// strata explore in a real terminal (tmux at 80×24), on the test image
// "single" the classic builder built (testdata/builders/single): its last
// steps write /app/greeting.txt ("hello"), make and delete /tmp/junk and
// /app/keep.txt, and write /app/shell.txt.

func exploreImage(t *testing.T, transport string) string {
	t.Helper()
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == "single" && b.Builder == "classic" {
			if ref, ok := b.Refs[transport]; ok {
				return ref
			}
		}
	}
	t.Fatalf("no classic-built single image with a %s ref in images.json", transport)
	return ""
}

func TestExploreArchiveInTmux(t *testing.T) {
	ref := exploreImage(t, "docker-archive")
	bin := buildStrata(t, t.TempDir())
	tm := newTerm(t)
	end := tm.session(bin, 0, ref)
	// The layer list and the tree render; loading ends with a path count.
	s := tm.waitFor(" paths", 20*time.Second, "Layers", "Files as of step", "app/", "bin/")
	if !tm.alternate() {
		t.Errorf("explore is not on the alternate screen:\n%s", s)
	}
	for _, want := range []string{`RUN echo "ran under $0" > /app`, "Efficiency", "╔═ Layers", "Step 13 · layer 6 of 7"} {
		if !strings.Contains(s, want) {
			t.Errorf("first screen lacks %q:\n%s", want, s)
		}
	}
	t.Logf("first screen:\n%s", s)
	// Tab moves the focus (the double border) to the files.
	tm.keys("Tab")
	tm.waitFor("╔═ Files as of step", 5*time.Second, "┌─ Layers")
	// The filter narrows the tree.
	tm.keys("/")
	tm.text("greeting")
	s = tm.waitFor("greeting.txt", 5*time.Second, "[filter gree", "Filter: greeting")
	if files := rightPane(s); strings.Contains(files, "busybox") || strings.Contains(files, "shell.txt") {
		t.Errorf("the filter left other paths:\n%s", s)
	}
	// View the file.
	tm.keys("Enter", "Down", "v")
	s = tm.waitFor("app/greeting.txt (text, 6 B)", 10*time.Second, "     1  hello")
	t.Logf("viewer:\n%s", s)
	tm.keys("Escape")
	tm.waitGone("(text, 6 B)", 5*time.Second)
	// Extract it.
	out := filepath.Join(tm.dir, "extracted")
	tm.keys("x")
	tm.waitFor("into directory:", 5*time.Second)
	tm.keys("C-u")
	tm.text(out)
	tm.keys("Enter")
	s = tm.waitFor("wrote 1 file (6 B)", 10*time.Second)
	t.Logf("after extract:\n%s", s)
	if b, err := os.ReadFile(filepath.Join(out, "app", "greeting.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("extracted greeting.txt: %q, %v", b, err)
	}
	tm.keys("q")
	s = end()
	t.Logf("after q:\n%s", s)
}

func TestExploreRegistryInTmux(t *testing.T) {
	ref := exploreImage(t, "registry")
	bin := buildStrata(t, t.TempDir())
	tm := newTerm(t)
	end := tm.session(bin, 0, ref)
	s := tm.waitFor(" paths", 30*time.Second, "Files as of step", "app/", "layer 6 of 7 · read", "Efficiency")
	t.Logf("registry, first screen:\n%s", s)
	tm.keys("Tab", "C-u") // what the last step changed, and nothing else
	s = tm.waitFor("[no unmodifi", 5*time.Second, "A ", "shell.txt")
	if files := rightPane(s); strings.Contains(files, "greeting.txt") || strings.Contains(files, "busybox") {
		t.Errorf("unmodified paths still show:\n%s", s)
	}
	tm.keys("q")
	end()
}

// A panic inside the program still leaves the terminal as it found it.
func TestExplorePanicRestoresTerminal(t *testing.T) {
	ref := filepath.Join(testenv.Testdata(), "demo", "demo.tar")
	dir := t.TempDir()
	bin := filepath.Join(dir, "strata")
	cmd := exec.Command("go", "build", "-tags", "strata_explore_panic", "-o", bin, "./cmd/strata")
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tm := newTerm(t)
	end := tm.session(bin, 1, ref)
	tm.waitFor(" paths", 10*time.Second)
	tm.keys("C-p")
	s := end()
	if !strings.Contains(s, "internal error in explore") {
		t.Errorf("no one-line error after the panic:\n%s", s)
	}
}

// Image text that carries terminal controls is shown escaped: no clipboard
// write, no title change, no bidi reordering reaches the terminal.
func TestExploreHostileTextInTmux(t *testing.T) {
	l0 := ocitest.Tar(t,
		ocitest.Member{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		ocitest.Member{Name: "etc/\x1b]0;pwned-by-name\x07t", Mode: 0o644, Body: []byte("x\n")},
		ocitest.Member{Name: "etc/evil\u202etxt.exe", Mode: 0o644, Body: []byte("bidi\n")},
		ocitest.Member{Name: "etc/view", Mode: 0o644, Body: []byte("a \x1b]0;pwned-by-content\x07 b\n")},
	)
	layout := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: ocitest.Gzip(t, l0), Tar: l0,
		CreatedBy: "/bin/sh -c echo \x1b]0;pwned-by-history\x07"}})
	bin := buildStrata(t, t.TempDir())
	tm := newTerm(t)
	end := tm.session(bin, 0, layout)
	s := tm.waitFor(" paths", 10*time.Second, `\x1b]0;pwned-by-name\x07t`, `evil\u202etxt.exe`, `RUN echo \x1b]0;pwned-by-histo`)
	t.Logf("hostile image:\n%s", s)
	tm.keys("Tab", "/")
	tm.text("etc/view")
	tm.keys("Enter", "Down", "v")
	s = tm.waitFor(`a \x1b]0;pwned-by-content\x07 b`, 10*time.Second)
	if title := tm.title(); strings.Contains(title, "pwned") {
		t.Errorf("image text set the terminal title to %q", title)
	}
	t.Logf("hostile image, viewer:\n%s", s)
	tm.keys("Escape")
	tm.waitGone("(text, 26 B)", 5*time.Second)
	tm.keys("q")
	end()
}

// With NO_COLOR the screen carries no colour; without it, the changes of
// the layer are coloured.
func TestExploreNoColor(t *testing.T) {
	ref := filepath.Join(testenv.Testdata(), "demo", "demo.tar")
	bin := buildStrata(t, t.TempDir())
	colour := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;[0-9;]+)m`)
	for _, noColor := range []bool{false, true} {
		var env []string
		if noColor {
			env = []string{"NO_COLOR=1"}
		}
		tm := newTerm(t, env...)
		end := tm.session(bin, 0, ref)
		tm.waitFor(" paths", 10*time.Second)
		tm.keys("Tab", "C-u") // the last step's changes: A and M rows
		tm.waitFor("A ", 5*time.Second, "passwd")
		s := tm.screenEscapes()
		if got := colour.MatchString(s); got == noColor {
			t.Errorf("NO_COLOR=%v: colour codes present = %v:\n%q", noColor, got, s)
		}
		tm.keys("q")
		end()
	}
}

// rightPane is the files pane's part of a screen (right of the 32-column
// layers and details column at 80 columns).
func rightPane(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if r := []rune(l); len(r) > 32 {
			out = append(out, string(r[32:]))
		}
	}
	return strings.Join(out, "\n")
}

// Compare mode: the child image the classic builder built FROM parent,
// against the parent: the parent's chain is shared and folded; the child's
// own step wrote /etc/strata/child and rewrote /etc/strata/role.
func TestExploreCompareInTmux(t *testing.T) {
	parent := testenv.BuiltRef(t, "parent", "classic", "docker-archive")
	child := testenv.BuiltRef(t, "child", "classic", "registry")
	bin := buildStrata(t, t.TempDir())
	tm := newTerm(t)
	end := tm.session(bin, 0, parent, child)
	s := tm.waitFor("/etc/strata/child", 20*time.Second, "shared chain: 3 layers", "Layers: 3 shared", "/etc/strata/role")
	t.Logf("compare:\n%s", s)
	tm.keys("/")
	tm.text("child")
	s = tm.waitFor("Filter: child", 5*time.Second)
	if strings.Contains(s, "/etc/strata/role") {
		t.Errorf("the filter left /etc/strata/role:\n%s", s)
	}
	// v views the child's copy (B's: it wrote the file over the shared
	// base), q closes the viewer, q quits.
	tm.keys("Enter", "v")
	s = tm.waitFor("B: /etc/strata/child", 20*time.Second)
	t.Logf("compare, viewing:\n%s", s)
	tm.keys("q")
	tm.waitFor("Layers: 3 shared", 5*time.Second)
	tm.keys("q")
	end()
}
