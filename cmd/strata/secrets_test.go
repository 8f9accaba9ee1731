package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

type secretsJSON struct {
	Reference string `json:"reference"`
	Findings  []struct {
		Rule         string `json:"rule"`
		Surface      string `json:"surface"`
		Step         int    `json:"step"`
		Layer        *int   `json:"layer"`
		Path         string `json:"path"`
		Key          string `json:"key"`
		DeletedLater bool   `json:"deletedLater"`
		RemovedStep  int    `json:"removedStep"`
		Value        string `json:"value"`
		Fingerprint  string `json:"fingerprint"`
	} `json:"findings"`
	Ignored int `json:"ignored"`
}

// TestSecretsCLI: exit codes 0/1/2, -o json fields, redaction and
// --reveal, SARIF, and an ignore file of fingerprints, on the corpus the
// classic builder built.
func TestSecretsCLI(t *testing.T) {
	corpus := testenv.SecretsImages(t)
	img := corpus.Refs["classic"]["archive"]
	code, out, errs := runCLI(t, "secrets", "--no-cache", "-o", "json", img)
	var rep secretsJSON
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Findings) == 0 {
		t.Fatalf("exit %d (want 1), %d findings\n%s", code, len(rep.Findings), errs)
	}
	planted := map[string]bool{}
	for _, p := range corpus.Planted {
		planted[p.Value] = true
	}
	deleted := 0
	for _, f := range rep.Findings {
		if planted[f.Value] || !strings.Contains(f.Value, "chars)") {
			t.Errorf("not redacted: %s %s %q", f.Rule, f.Surface, f.Value)
		}
		if f.Surface == "file" && (f.Layer == nil || f.Step == 0 || f.Path == "") {
			t.Errorf("file finding without layer, step or path: %+v", f)
		}
		if f.DeletedLater {
			deleted++
			if f.RemovedStep <= f.Step {
				t.Errorf("removed at step %d, added at %d: %+v", f.RemovedStep, f.Step, f)
			}
		}
	}
	if deleted < 3 {
		t.Errorf("%d findings in files a later step removed, want the 3 planted", deleted)
	}
	for _, p := range corpus.Planted {
		if strings.Contains(out, p.Value) {
			t.Errorf("the redacted output shows %s's value", p.Rule)
		}
	}
	_, revealed, _ := runCLI(t, "secrets", "--reveal", "-o", "json", img)
	for _, p := range corpus.Planted {
		if p.Path != "" && !strings.Contains(revealed, jsonString(p.Value)) {
			t.Errorf("--reveal does not show %s in %s", p.Rule, p.Path)
		}
	}
	checkSARIF(t, img, len(rep.Findings))
	checkIgnore(t, img, rep)
	if code, _, _ := runCLI(t, "secrets", demoTar()); code != 0 {
		t.Errorf("demo image: exit %d, want 0 (no secrets)", code)
	}
	if code, _, errs := runCLI(t, "secrets", filepath.Join(t.TempDir(), "nope.tar")); code != 2 {
		t.Errorf("missing image: exit %d, want 2 (%s)", code, errs)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func checkSARIF(t *testing.T, img string, n int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "out.sarif")
	if code, _, errs := runCLI(t, "secrets", "--report", "sarif="+file, img); code != 1 {
		t.Fatalf("--report: exit %d %s", code, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID              string            `json:"ruleId"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Locations           []json.RawMessage `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Version != "2.1.0" || len(doc.Runs) != 1 {
		t.Fatalf("not a SARIF 2.1.0 log: %v", err)
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name != "strata" || len(run.Results) != n || len(run.Tool.Driver.Rules) == 0 {
		t.Errorf("SARIF: tool %q, %d results (want %d), %d rules", run.Tool.Driver.Name, len(run.Results), n, len(run.Tool.Driver.Rules))
	}
	for _, r := range run.Results {
		if r.RuleID == "" || len(r.Locations) != 1 || r.PartialFingerprints["strataFingerprint/v1"] == "" {
			t.Errorf("SARIF result incomplete: %+v", r)
		}
	}
}

// checkIgnore: accepting every finding but one by fingerprint leaves that
// one; accepting all exits 0.
func checkIgnore(t *testing.T, img string, rep secretsJSON) {
	t.Helper()
	var lines []string
	for _, f := range rep.Findings[1:] {
		lines = append(lines, f.Fingerprint+"  # "+f.Rule)
	}
	file := filepath.Join(t.TempDir(), "ignore")
	os.WriteFile(file, []byte("# accepted\n"+strings.Join(lines, "\n")+"\n"), 0o644)
	code, out, _ := runCLI(t, "secrets", "-o", "json", "--ignore-file", file, img)
	var got secretsJSON
	json.Unmarshal([]byte(out), &got)
	if code != 1 || len(got.Findings) != 1 || got.Findings[0].Fingerprint != rep.Findings[0].Fingerprint || got.Ignored != len(lines) {
		t.Errorf("ignore all but one: exit %d, %d findings, %d ignored", code, len(got.Findings), got.Ignored)
	}
	os.WriteFile(file, []byte(rep.Findings[0].Fingerprint+"\n"+strings.Join(lines, "\n")+"\n"), 0o644)
	if code, out, _ := runCLI(t, "secrets", "--ignore-file", file, img); code != 0 || !strings.Contains(out, "0 secrets found") {
		t.Errorf("ignore all: exit %d\n%s", code, out)
	}
	os.WriteFile(file, []byte("not-a-fingerprint\n"), 0o644)
	if code, _, errs := runCLI(t, "secrets", "--ignore-file", file, img); code != 2 || !strings.Contains(errs, "fingerprint") {
		t.Errorf("bad ignore file: exit %d %s", code, errs)
	}
}
