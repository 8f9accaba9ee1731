package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's example blocks from real runs")

var (
	exampleBlock = regexp.MustCompile(`(?s)<!-- example -->\n(.*?)<!-- /example -->`)
	exampleCmd   = regexp.MustCompile(`(?m)^    \$ strata (.*)$`)
)

// TestREADMEExamples keeps every example in the README real: each block
// between <!-- example --> and <!-- /example --> is the output of the
// commands it shows, run from the repository root on data that ships with
// the repo or in ../shared. Regenerate with
// `go test ./cmd/strata -run READMEExamples -update-readme` (what
// scripts/readme-examples.sh does) and read the diff before committing.
func TestREADMEExamples(t *testing.T) {
	testenv.Shared(t) // the examples read ../shared/fixtures too
	root := testenv.Root()
	readme := filepath.Join(root, "README.md")
	src, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	// The commands take paths relative to the repository root, and the
	// default catalog lives in a fresh data home shared by the blocks.
	wd, _ := os.Getwd()
	if err := os.Chdir(root); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	dataHome := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dataHome)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	blocks := exampleBlock.FindAllSubmatchIndex(src, -1)
	if len(blocks) == 0 {
		t.Fatal("README has no example blocks")
	}
	var out bytes.Buffer
	last := 0
	for _, b := range blocks {
		body := string(src[b[2]:b[3]])
		// The fresh data home is printed as what a user has there.
		want := strings.ReplaceAll(renderExample(t, body), dataHome, "~/.local/share")
		if want != body && !*updateREADME {
			t.Errorf("README example is not what strata prints now (go test ./cmd/strata -run READMEExamples -update-readme):\n--- README\n%s--- strata\n%s", body, want)
		}
		out.Write(src[last:b[2]])
		out.WriteString(want)
		last = b[3]
	}
	out.Write(src[last:])
	if *updateREADME {
		if err := os.WriteFile(readme, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// renderExample runs each `$ strata …` line of a block and returns the
// block rewritten with their real output, indented as Markdown code.
func renderExample(t *testing.T, body string) string {
	cmds := exampleCmd.FindAllStringSubmatch(body, -1)
	if len(cmds) == 0 {
		t.Fatalf("example block without a `$ strata` command:\n%s", body)
	}
	var b strings.Builder
	for _, c := range cmds {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), strings.Fields(c[1]), strings.NewReader(""), &stdout, &stderr)
		// diff exits 1 for "different", waste --ci for a failed rule.
		if code != 0 && !strings.HasPrefix(c[1], "diff ") && !(strings.HasPrefix(c[1], "waste ") && code == 1) {
			t.Errorf("README example `strata %s` exits %d: %s", c[1], code, stderr.String())
		}
		b.WriteString("    $ strata " + c[1] + "\n")
		for _, line := range strings.Split(strings.TrimRight(stdout.String()+stderr.String(), "\n"), "\n") {
			b.WriteString(strings.TrimRight("    "+line, " ") + "\n")
		}
	}
	return b.String()
}

// TestREADMELayoutListsEveryPackage: the layout table names every Go
// package of the module, so a newcomer can find where each concern lives.
func TestREADMELayoutListsEveryPackage(t *testing.T) {
	root := testenv.Root()
	src, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(src), "### Layout")
	if !ok {
		t.Fatal("README has no ### Layout section")
	}
	layout, _, _ = strings.Cut(layout, "\n### ")
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9/]+)/?`").FindAllStringSubmatch(layout, -1) {
		listed[strings.TrimSuffix(m[1], "/")] = true
	}
	n := 0
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		if rel == "." {
			return nil
		}
		n++
		top, _, _ := strings.Cut(rel, "/")
		if !listed[rel] && !(top == "bench" && listed["bench"]) && !(strings.HasPrefix(rel, "catalog/internal") && listed["catalog/internal/sqlstore"]) {
			t.Errorf("package %s is not in the README's layout table", rel)
			listed[rel] = true // once
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk: %v (%d Go files)", err, n)
	}
}
