package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// The app image of testdata/waste: 253,000 bytes wasted in all, 40,000 of
// them by its 4-layer base's own step, 213,000 by its own last step, out of
// 347,000 bytes its two own layers ship (waste/built_test.go derives them).
const (
	appWasted     = 253000
	appUserWasted = 213000
	appUserBytes  = 347000
)

func wasteApp(t *testing.T) testenv.WasteImage {
	t.Helper()
	for _, w := range testenv.WasteImages(t) {
		if w.Builder == "classic" {
			return w
		}
	}
	t.Fatal("no classic-built waste image")
	return testenv.WasteImage{}
}

// isolate points the caches and the catalog at fresh directories.
func isolate(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
}

type wasteJSON struct {
	WastedBytes       int64   `json:"wasted_bytes"`
	Efficiency        float64 `json:"efficiency"`
	ContentBytes      int64   `json:"content_bytes"`
	FinalBytes        int64   `json:"final_bytes"`
	UserWastedBytes   int64   `json:"user_wasted_bytes"`
	UserWastedPercent float64 `json:"user_wasted_percent"`
	ByCause           []struct {
		Cause string `json:"cause"`
		Bytes int64  `json:"bytes"`
	} `json:"by_cause"`
	Top []struct {
		Path  string `json:"path"`
		Bytes int64  `json:"bytes"`
		Step  int    `json:"step"`
	} `json:"top"`
	Base struct {
		Layers int    `json:"layers"`
		Known  bool   `json:"known"`
		Note   string `json:"note"`
	} `json:"base"`
	CI *struct {
		Pass  bool `json:"pass"`
		Rules []struct {
			Rule   string `json:"rule"`
			Status string `json:"status"`
		} `json:"rules"`
	} `json:"ci"`
}

func wasteOf(t *testing.T, args ...string) (wasteJSON, string) {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"waste", "-o", "json"}, args...)...)
	var w wasteJSON
	if code != 0 || json.Unmarshal([]byte(out), &w) != nil {
		t.Fatalf("waste %v: exit %d, %s\n%s", args, code, errs, out)
	}
	return w, errs
}

// TestWasteUserExcludesBase: the base's 4 layers' own waste is left out of
// the user figures (dive#454, #111), whether the catalog names the base or
// only the history shows where it ends.
func TestWasteUserExcludesBase(t *testing.T) {
	isolate(t)
	w := wasteApp(t)
	got, _ := wasteOf(t, w.App)
	if got.WastedBytes != appWasted || got.ContentBytes-got.FinalBytes != appWasted || len(got.ByCause) != 3 || len(got.Top) == 0 {
		t.Errorf("uncatalogued: %+v", got)
	}
	// Without a catalog the base is unnamed, but the history shows where it
	// ends (its CMD closes the first 4 layers): a guess, said so.
	if got.Base.Layers != 4 || got.Base.Known || !strings.Contains(got.Base.Note, "the history shows it ends after 4 layers") || got.UserWastedBytes != appUserWasted {
		t.Errorf("unnamed base: %+v (user waste %d), want its 4 layers, a note and %d", got.Base, got.UserWastedBytes, appUserWasted)
	}
	db := filepath.Join(t.TempDir(), "cat.db")
	if code, _, errs := runCLI(t, "catalog", "add", "--catalog", db, w.Base); code != 0 {
		t.Fatal(errs)
	}
	got, _ = wasteOf(t, "--catalog", db, w.App)
	if got.Base.Layers != 4 || !got.Base.Known || got.UserWastedBytes != appUserWasted {
		t.Errorf("catalogued base: base %+v, user waste %d; want 4 layers, %d", got.Base, got.UserWastedBytes, appUserWasted)
	}
	if want := 100 * float64(appUserWasted) / appUserBytes; got.UserWastedPercent < want-1e-9 || got.UserWastedPercent > want+1e-9 {
		t.Errorf("user wasted percent %v, want %v", got.UserWastedPercent, want)
	}
}

// TestWasteSecondRunReadsNoLayer: a second run costs what `layers` costs.
func TestWasteSecondRunReadsNoLayer(t *testing.T) {
	isolate(t)
	ref := wasteApp(t).App
	_, _, meta := runCLI(t, "layers", "--http-stats", ref)
	code, first, errs1 := runCLI(t, "waste", "--http-stats", ref)
	if code != 0 {
		t.Fatal(errs1)
	}
	code, second, errs2 := runCLI(t, "waste", "--http-stats", ref)
	if code != 0 || first != second {
		t.Fatalf("second run: exit %d, output differs: %v\n%s", code, first != second, errs2)
	}
	if httpLine(t, errs1) == httpLine(t, meta) || httpLine(t, errs2) != httpLine(t, meta) {
		t.Errorf("first %s, second %s, layers %s", httpLine(t, errs1), httpLine(t, errs2), httpLine(t, meta))
	}
}

// TestWasteFingerprintsThenFiles: waste reads layers with fingerprints
// only (no sha256 per file) and names its duplicate groups afterwards; it
// prints what a run that hashes every file prints (--no-cache), and a
// later verb that shows digests (files) gets every one, the same as when
// it reads the image itself.
func TestWasteFingerprintsThenFiles(t *testing.T) {
	isolate(t)
	ref := wasteApp(t).App
	code, fast, errs := runCLI(t, "waste", "-o", "json", ref)
	if code != 0 {
		t.Fatal(errs)
	}
	code, full, errs := runCLI(t, "waste", "-o", "json", "--no-cache", ref)
	if code != 0 || fast != full {
		t.Fatalf("waste from fingerprints differs from waste hashing every file (exit %d, %s):\n%s\nwant\n%s", code, errs, fast, full)
	}
	var w struct {
		Avoidable struct {
			Duplicates struct {
				Top []struct {
					Digest string `json:"digest"`
				} `json:"top"`
			} `json:"duplicates"`
		} `json:"avoidable"`
	}
	if err := json.Unmarshal([]byte(fast), &w); err != nil || len(w.Avoidable.Duplicates.Top) != 1 || len(w.Avoidable.Duplicates.Top[0].Digest) != 71 {
		t.Fatalf("duplicate groups %+v (%v), want one named by sha256", w.Avoidable.Duplicates.Top, err)
	}
	// cat needs no digests: the fingerprinted index serves it, and one
	// file is read by range instead of every layer again.
	code, kept, errs := runCLI(t, "cat", "--http-stats", ref, "/w/dup1.bin")
	if code != 0 {
		t.Fatal(errs)
	}
	code, fresh, errs2 := runCLI(t, "cat", "--http-stats", "--no-cache", ref, "/w/dup1.bin")
	if code != 0 || kept != fresh || len(kept) != 20000 {
		t.Fatalf("cat after waste: %d bytes, exit %d (%s); --no-cache: %d bytes", len(kept), code, errs2, len(fresh))
	}
	if a, b := receivedBytes(t, errs), receivedBytes(t, errs2); a*4 > b {
		t.Errorf("cat after waste received %d bytes, with no index %d: the kept index was not used", a, b)
	}
	code, files, errs := runCLI(t, "files", "-o", "json", ref)
	if code != 0 {
		t.Fatal(errs)
	}
	var rows []struct {
		Path   string `json:"path"`
		Type   string `json:"type"`
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(files), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("files -o json: %v", err)
	}
	for _, r := range rows {
		if r.Type == "file" && !strings.HasPrefix(r.Digest, "sha256:") {
			t.Errorf("%s: digest %q after a waste run, want its sha256", r.Path, r.Digest)
		}
	}
	if code, again, errs := runCLI(t, "files", "-o", "json", "--no-cache", ref); code != 0 || again != files {
		t.Errorf("files with and without the index waste left differ (exit %d, %s)", code, errs)
	}
}

// TestWasteCI: dive's own .dive-ci syntax, read from the working
// directory or --ci-config; exit 0 when every rule passes, 1 when one
// fails, 2 on a broken config; the reports parse.
func TestWasteCI(t *testing.T) {
	isolate(t)
	ref := wasteApp(t).App
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, s string) string {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, name)
	}
	// Efficiency is (content - 253000) / content with content ≈ 2.4 MB.
	write(".dive-ci", "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n")
	code, out, errs := runCLI(t, "waste", "--ci", ref)
	if code != 0 || !strings.Contains(out, "PASS  lowestEfficiency") || !strings.Contains(out, "SKIP  highestUserWastedPercent") || !strings.Contains(out, "result: PASS") {
		t.Errorf("passing rules: exit %d\n%s%s", code, out, errs)
	}
	fail := write("strict.yml", "rules:\n  lowestEfficiency: 0.99\n  highestWastedBytes: 250KB\n  highestUserWastedPercent: 0.65\npathRules:\n  - '**/.cache/**'\n  - {path: 'w/deleted.bin', in: final}\n")
	junit, sarif := filepath.Join(dir, "w.xml"), filepath.Join(dir, "w.sarif")
	code, out, errs = runCLI(t, "waste", "--ci-config", fail, "--report", "junit="+junit, "--report", "sarif="+sarif, ref)
	for _, want := range []string{"FAIL  lowestEfficiency", "FAIL  highestWastedBytes", "FAIL  path **/.cache/**", "PASS  path w/deleted.bin", "PASS  highestUserWastedPercent", "result: FAIL (2 passed, 3 failed, 0 skipped)"} {
		if !strings.Contains(out, want) {
			t.Errorf("failing rules: no %q in\n%s%s", want, out, errs)
		}
	}
	if code != 1 {
		t.Errorf("failing rules: exit %d, want 1", code)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if b, err := os.ReadFile(junit); err != nil || xml.Unmarshal(b, &suites) != nil || suites.Tests != 5 || suites.Failures != 3 {
		t.Errorf("junit report: %v %+v", err, suites)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				Kind string `json:"kind"`
			} `json:"results"`
		} `json:"runs"`
	}
	if b, err := os.ReadFile(sarif); err != nil || json.Unmarshal(b, &log) != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 5 {
		t.Errorf("sarif report: %v %+v", err, log)
	}
	got, _ := wasteOf(t, "--ci-config", write("ok.yml", "rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: 0.9\n"), ref)
	if got.CI == nil || !got.CI.Pass || len(got.CI.Rules) != 3 {
		t.Errorf("json ci: %+v", got.CI)
	}
	for _, bad := range []string{"rules:\n  lowestEfficiency: 95\n", "rules: ["} {
		if code, _, errs := runCLI(t, "waste", "--ci-config", write("bad.yml", bad), ref); code != 2 || errs == "" {
			t.Errorf("config %q: exit %d (%s), want 2", bad, code, errs)
		}
	}
	if code, _, _ := runCLI(t, "waste", "--report", "junit=x.xml", ref); code != 2 {
		t.Errorf("--report without --ci: exit %d, want 2", code)
	}
}

// receivedBytes is the byte count of the --http-stats line.
func receivedBytes(t *testing.T, stderr string) int64 {
	t.Helper()
	var reqs, n int64
	if _, err := fmt.Sscanf(httpLine(t, stderr), "http: %d requests, %d bytes received", &reqs, &n); err != nil {
		t.Fatalf("http stats: %v", err)
	}
	return n
}
