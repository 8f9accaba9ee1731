package gate

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/strata-tool/strata/waste"
)

// dive's own files: its legacy test config, and the commented .dive-ci its
// README shows (20Mb, an unknown plugin rule dive ignores).
const (
	diveLegacy = `rules:
  lowestEfficiency: 0.95
  highestWastedBytes: 20MB
  highestUserWastedPercent: 0.20
`
	diveCommented = `---
plugins:
  - plugin1

rules:
  # If the efficiency is measured below X%, mark as failed. (expressed as a percentage between 0-1)
  lowestEfficiency: 0.95

  # If the amount of wasted space is at least X or larger than X, mark as failed. (expressed in B, KB, MB, and GB)
  highestWastedBytes: 20Mb

  # If the amount of wasted space makes up for X% of the image, mark as failed. (fail if the threshold is met or crossed; expressed as a percentage between 0-1)
  highestUserWastedPercent: disabled

  plugin1/rule1: error
`
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    []Threshold
		notes   int
		paths   int
		wantErr string
	}{
		{name: "dive legacy", doc: diveLegacy, want: []Threshold{
			{Name: LowestEfficiency, Raw: "0.95", Value: 0.95},
			{Name: HighestWastedBytes, Raw: "20MB", Value: 20e6},
			{Name: HighestUserWastedPercent, Raw: "0.20", Value: 0.2}}},
		{name: "dive commented", doc: diveCommented, notes: 1, want: []Threshold{
			{Name: LowestEfficiency, Raw: "0.95", Value: 0.95},
			{Name: HighestWastedBytes, Raw: "20Mb", Value: 20e6},
			{Name: HighestUserWastedPercent, Raw: "disabled", Disabled: true}}},
		{name: "kebab-case and defaults", doc: "rules:\n  highest-wasted-bytes: 1MiB\n", want: []Threshold{
			{Name: LowestEfficiency, Raw: "0.9", Value: 0.9},
			{Name: HighestWastedBytes, Raw: "1MiB", Value: 1 << 20},
			{Name: HighestUserWastedPercent, Raw: "0.1", Value: 0.1}}},
		{name: "path rules", doc: "pathRules:\n  - '**/.cache/**'\n  - {path: var/lib/apt/lists/**, in: final}\n", paths: 2, want: Default().Rules},
		{name: "ratio out of range", doc: "rules:\n  lowestEfficiency: 95\n", wantErr: "between 0 and 1"},
		{name: "bad size", doc: "rules:\n  highestWastedBytes: lots\n", wantErr: "not a size"},
		{name: "bad in", doc: "pathRules:\n  - {path: x, in: somewhere}\n", wantErr: "want layers or final"},
		{name: "bad glob", doc: "pathRules:\n  - 'a[b'\n", wantErr: "bad path pattern"},
		{name: "not yaml", doc: "rules: [", wantErr: "not a .dive-ci file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Rules) != len(tt.want) {
				t.Fatalf("rules %+v, want %+v", c.Rules, tt.want)
			}
			for i := range tt.want {
				if c.Rules[i] != tt.want[i] {
					t.Errorf("rule %d: %+v, want %+v", i, c.Rules[i], tt.want[i])
				}
			}
			if len(c.Notes) != tt.notes || len(c.Paths) != tt.paths {
				t.Errorf("notes %v, paths %+v; want %d notes, %d paths", c.Notes, c.Paths, tt.notes, tt.paths)
			}
		})
	}
}

// report is a waste report with the figures the rules read.
func report(eff float64, wasted int64, userPercent float64) *waste.Report {
	return &waste.Report{Efficiency: eff, WastedBytes: wasted, UserWastedBytes: wasted, UserWastedPercent: userPercent}
}

func TestEvaluate(t *testing.T) {
	c, err := Parse([]byte(diveLegacy))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    *waste.Report
		want []Status
	}{
		{"all pass", report(0.96, 20e6, 20), []Status{Pass, Pass, Pass}},
		{"at the thresholds", report(0.95, 20e6, 20), []Status{Pass, Pass, Pass}},
		{"all fail", report(0.7954, 197151959, 25.7), []Status{Fail, Fail, Fail}},
		{"one byte over", report(0.99, 20e6+1, 1), []Status{Pass, Fail, Pass}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Evaluate(c, tt.r, nil)
			if err != nil {
				t.Fatal(err)
			}
			pass := true
			for i, v := range res.Verdicts {
				if v.Status != tt.want[i] {
					t.Errorf("%s: %s (%s), want %s", v.Rule, v.Status, v.Message, tt.want[i])
				}
				pass = pass && v.Status != Fail
			}
			if res.Pass != pass {
				t.Errorf("pass %v, want %v", res.Pass, pass)
			}
		})
	}
	c, _ = Parse([]byte(diveCommented))
	res, _ := Evaluate(c, report(0.5, 1, 99), nil)
	if res.Verdicts[2].Status != Skip {
		t.Errorf("disabled rule: %+v", res.Verdicts[2])
	}
}

// sample is a result with every kind of verdict, path hits included.
func sample() *Result {
	return &Result{Config: ".dive-ci", Verdicts: []Verdict{
		{Rule: LowestEfficiency, Config: "0.95", Status: Fail, Message: "efficiency 79.54 % < 95.00 %"},
		{Rule: HighestWastedBytes, Config: "disabled", Status: Skip, Message: "rule disabled"},
		{Rule: HighestUserWastedPercent, Config: "0.5", Status: Pass, Message: "ok"},
		{Rule: "path **/.cache/**", Config: "layers", Status: Fail, Message: "2 matching paths", Matches: 2, MatchedBytes: 3000,
			Hits: []Hit{{Path: "root/.cache/pip/a b#.whl", Type: "file", Size: 3000, Layer: 4, Step: 6}, {Path: "root/.cache/pip", Type: "dir", Layer: 4, Step: 6}}},
	}}
}

func TestJUnitParses(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteJUnit(&buf, "app:1 <&>"); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("junit does not parse: %v\n%s", err, buf.String())
	}
	if doc.Tests != 4 || doc.Failures != 2 || doc.Skipped != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 4 {
		t.Fatalf("junit counts: %+v", doc)
	}
	s := doc.Suites[0]
	if s.Name != "strata waste app:1 <&>" || s.Cases[0].Failure == nil || s.Cases[1].Skipped == nil || s.Cases[2].Failure != nil {
		t.Errorf("junit cases: %+v", s)
	}
	if !strings.Contains(s.Cases[3].Failure.Text, "root/.cache/pip/a b#.whl") {
		t.Errorf("path failure text lacks the hit: %q", s.Cases[3].Failure.Text)
	}
}

func TestSARIFSchema(t *testing.T) {
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sample().WriteSARIF(&buf, "127.0.0.1:5000/app:1", "v0.0.0-test"); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v\n%s", err, buf.String())
	}
	// The schema forbids unknown properties everywhere, so a typo fails
	// above; check the content too.
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	res := log.Runs[0].Results
	if len(res) != 4 || res[0].Kind != "fail" || res[0].Level != "error" || res[1].Kind != "notApplicable" || res[2].Kind != "pass" {
		t.Errorf("results: %+v", res)
	}
	if u := res[3].Locations[0].PhysicalLocation.ArtifactLocation.URI; u != "root/.cache/pip/a%20b%23.whl" {
		t.Errorf("uri %q", u)
	}
	// A broken log must fail the same validation (the check can fail).
	bad := strings.Replace(buf.String(), `"kind": "fail"`, `"kind": "failed"`, 1)
	inst, _ = jsonschema.UnmarshalJSON(strings.NewReader(bad))
	if schema.Validate(inst) == nil {
		t.Error("a result with kind \"failed\" validated")
	}
}
