package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

func demoTar() string { return filepath.Join(testenv.Testdata(), "demo", "demo.tar") }

// TestVerbsRunInParallel: every run builds its own command tree, so verbs
// with different flags can run at once without leaking state into each
// other (the old package-level flags could not).
func TestVerbsRunInParallel(t *testing.T) {
	for i := 0; i < 8; i++ {
		json := i%2 == 0
		t.Run("", func(t *testing.T) {
			t.Parallel()
			args := []string{"layers", demoTar()}
			if json {
				args = []string{"layers", "-o", "json", demoTar()}
			}
			code, out, errs := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if got := strings.HasPrefix(out, "{"); got != json {
				t.Errorf("-o json=%v but output starts %q", json, out[:min(20, len(out))])
			}
		})
	}
}

// TestOutputFlagEveryVerb: -o is validated once for every verb, before
// any image is opened or any catalog touched.
func TestOutputFlagEveryVerb(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	for _, args := range [][]string{
		{"layers", demoTar()},
		{"inspect", demoTar()},
		{"dockerfile", demoTar()},
		{"base", "--catalog", db, demoTar()},
		{"catalog", "add", "--catalog", db, demoTar()},
		{"catalog", "ls", "--catalog", db},
		{"catalog", "rm", "--catalog", db, "x"},
		{"catalog", "import", "--catalog", db, "-"},
		{"catalog", "export", "--catalog", db},
	} {
		code, out, errs := runCLI(t, append([]string{"-o", "yaml"}, args...)...)
		if code != 1 || out != "" || !strings.Contains(errs, `-o "yaml": want text or json`) {
			t.Errorf("%v -o yaml: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused -o still created the catalog")
	}
	code, _, errs := runCLI(t, "diff", "-o", "yaml", demoTar(), demoTar())
	if code != 2 || !strings.Contains(errs, "want text or json") {
		t.Errorf("diff -o yaml: exit %d (want 2), %q", code, errs)
	}
}

// TestCatalogJSONAndExitCodes: catalog add/rm/import honour -o json; an
// unknown subcommand and removing nothing are errors; a bad line in an
// import list says how many images went in before it.
func TestCatalogJSONAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	code, out, errs := runCLI(t, "catalog", "add", "-o", "json", "--catalog", db, "--name", "demo:1.2", demoTar())
	var added addReport
	if code != 0 || json.Unmarshal([]byte(out), &added) != nil || added.Added != 1 || len(added.Images) != 1 || !strings.HasPrefix(added.Images[0], "demo:1.2 ") {
		t.Fatalf("add -o json: exit %d, %q, %q", code, out, errs)
	}
	code, _, errs = runCLI(t, "catalog", "frobnicate", "--catalog", db)
	if code != 1 || !strings.Contains(errs, `unknown catalog command "frobnicate"`) {
		t.Errorf("unknown subcommand: exit %d, %q", code, errs)
	}
	code, out, errs = runCLI(t, "catalog", "rm", "-o", "json", "--catalog", db, "demo:1.2", "nosuch:1")
	var rm rmReport
	if code != 1 || json.Unmarshal([]byte(out), &rm) != nil || rm.Removed != 1 || len(rm.Missing) != 1 || !strings.Contains(errs, "nothing catalogued as nosuch:1") {
		t.Errorf("rm of one known and one unknown image: exit %d, %q, %q", code, out, errs)
	}
	list := filepath.Join(dir, "refs.txt")
	os.WriteFile(list, []byte(demoTar()+"\n# a comment\n./no/such/image.tar\n"), 0o644)
	code, _, errs = runCLI(t, "catalog", "import", "--catalog", db, list)
	if code != 1 || !strings.Contains(errs, "line 3") || !strings.Contains(errs, "1 image added before it") {
		t.Errorf("import with a bad line: exit %d, %q", code, errs)
	}
}

// TestLayersTruncation: piped output keeps every instruction whole;
// --no-trunc keeps spacing and shows newlines as \n on one row.
func TestLayersTruncation(t *testing.T) {
	code, out, errs := runCLI(t, "layers", demoTar())
	if code != 0 {
		t.Fatal(errs)
	}
	// Step 7 of the demo is a 250-character RUN: it is printed whole.
	if !strings.Contains(out, `chown -R 1000:1000 /srv/demo`) || strings.Contains(out, "…") {
		t.Errorf("piped layers output was cut:\n%s", out)
	}
	if !strings.Contains(out, "4 layers") {
		t.Errorf("no total row:\n%s", out)
	}
	if got := instructionCell("RUN a\n  b", 0); got != `RUN a\n  b` {
		t.Errorf("instructionCell(no cut) = %q", got)
	}
	if got := instructionCell("RUN   a b c d e f g h i j k l m n o p q r s t u v w", 24); got != "RUN a b c d e f g h i j…" {
		t.Errorf("instructionCell(cut to 24) = %q", got)
	}
}

// TestRepoInfoIsASource: a docker-library repo-info record opens in every
// verb, not only base and catalog add.
func TestRepoInfoIsASource(t *testing.T) {
	md := repoInfoPath(t, "redis/remote/7.0.8.md")
	for _, verb := range []string{"layers", "dockerfile", "inspect", "base"} {
		code, out, errs := runCLI(t, verb, "--platform", "linux/amd64", md)
		if code != 0 || out == "" {
			t.Errorf("%s %s: exit %d, %s", verb, md, code, errs)
		}
	}
	code, out, _ := runCLI(t, "base", "--all-platforms", "-o", "json", repoInfoPath(t, "alpine/remote/3.17.1.md"))
	var all []json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &all) != nil || len(all) != 7 {
		t.Errorf("base --all-platforms of a repo-info record: exit %d, %d results", code, len(all))
	}
}

func TestVersionAndCompletion(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "strata ") || !strings.Contains(out, "go1.") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "__complete", "layers", "-o", "")
	if code != 0 || !strings.Contains(out, "text\njson\n") {
		t.Errorf("completion of -o: %q", out)
	}
	code, out, _ = runCLI(t, "__complete", "layers", "--platform", "")
	if code != 0 || !strings.Contains(out, "linux/arm64\n") {
		t.Errorf("completion of --platform: %q", out)
	}
}

// TestEveryVerbHasExamples: help shows an example for every verb.
func TestEveryVerbHasExamples(t *testing.T) {
	root := newRootCmd(&app{})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" || c.Name() == "__complete" {
			continue
		}
		if !c.HasExample() {
			t.Errorf("strata %s has no example in its help", c.Name())
		}
		for _, sub := range c.Commands() {
			if !sub.HasExample() {
				t.Errorf("strata %s %s has no example in its help", c.Name(), sub.Name())
			}
		}
	}
}

// TestLayersNoTruncKeepsSpacing: --no-trunc prints the instruction with
// the spacing the history recorded (python's RUN steps are tab-indented);
// without it white space is folded.
func TestLayersNoTruncKeepsSpacing(t *testing.T) {
	md := repoInfoPath(t, "python/remote/3.11.1-slim-bullseye.md")
	_, folded, _ := runCLI(t, "layers", "--platform", "linux/amd64", md)
	code, whole, errs := runCLI(t, "layers", "--no-trunc", "--platform", "linux/amd64", md)
	if code != 0 {
		t.Fatal(errs)
	}
	const recorded = "RUN set -eux; \tapt-get update; \tapt-get install -y --no-install-recommends \t\tca-certificates"
	if !strings.Contains(whole, recorded) {
		t.Errorf("--no-trunc lost the recorded spacing:\n%s", whole)
	}
	if strings.Contains(folded, recorded) || !strings.Contains(folded, "RUN set -eux; apt-get update; apt-get install") {
		t.Errorf("default output not folded:\n%s", folded)
	}
}

// TestCatalogDigestPrefixes: the short digest catalog ls prints is accepted
// back by ls and rm, like docker's image IDs; a mistyped catalog path is an
// error, never a new directory tree.
func TestCatalogDigestPrefixes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	if code, _, errs := runCLI(t, "catalog", "add", "--catalog", db, "--name", "demo:1", demoTar()); code != 0 {
		t.Fatal(errs)
	}
	_, out, _ := runCLI(t, "catalog", "ls", "--catalog", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("ls:\n%s", out)
	}
	fields := strings.Fields(lines[1])
	short := fields[4]
	if len(short) != 12 {
		t.Fatalf("digest column %q is not a 12-hex short digest:\n%s", short, out)
	}
	for _, arg := range []string{short, "sha256:" + short[:8]} {
		code, out, errs := runCLI(t, "catalog", "ls", "--catalog", db, arg)
		if code != 0 || !strings.Contains(out, "demo:1") {
			t.Errorf("ls %s: exit %d, %q, %q", arg, code, out, errs)
		}
	}
	if code, out, errs := runCLI(t, "catalog", "rm", "--catalog", db, short); code != 0 || !strings.Contains(out, "removed 1 image") {
		t.Errorf("rm %s: exit %d, %q, %q", short, code, out, errs)
	}
	missing := filepath.Join(dir, "no", "such", "dir", "x.db")
	code, _, errs := runCLI(t, "catalog", "add", "--catalog", missing, demoTar())
	if code != 1 || !strings.Contains(errs, "does not exist") {
		t.Errorf("add to %s: exit %d, %q", missing, code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Errorf("a mistyped --catalog path created directories")
	}
}

// TestNetworkFlags: --read-timeout reaches the registry transport: a
// registry that accepts and never answers ends the run with one line
// naming the host, not a hang.
func TestNetworkFlags(t *testing.T) {
	ln := testenv.SilentListener(t)
	host := ln.Addr().String()
	code, _, errs := runCLI(t, "layers", "--read-timeout", "300ms", "--retry-wait", "-1s", host+"/hang/image:1")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(errs, host) || !strings.Contains(errs, "within") {
		t.Errorf("hanging registry: exit %d, stderr %q", code, errs)
	}
}
