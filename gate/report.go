package gate

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/strata-tool/strata/internal/safetext"
)

// JUnit XML: one test suite for the image, one test case per rule; a
// failed rule is a <failure>, a disabled one <skipped>.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the verdicts for image as JUnit XML.
func (res *Result) WriteJUnit(w io.Writer, image string) error {
	s := junitSuite{Name: "strata waste " + image}
	for _, v := range res.Verdicts {
		c := junitCase{Name: v.Rule, ClassName: "strata.waste"}
		switch v.Status {
		case Fail:
			c.Failure = &junitFailure{Message: v.Message, Type: v.Rule, Text: details(v)}
			s.Failures++
		case Skip:
			c.Skipped = &junitSkipped{Message: v.Message}
			s.Skipped++
		default:
			c.SystemOut = v.Message
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
	}
	doc := junitSuites{Name: "strata waste", Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func details(v Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (rule: %s)", v.Message, v.Config)
	for _, h := range v.Hits {
		fmt.Fprintf(&b, "\n%s %s %d bytes (%s)", h.Type, safetext.Line(h.Path), h.Size, stepWord(h))
	}
	if v.Matches > len(v.Hits) {
		fmt.Fprintf(&b, "\n… and %d more", v.Matches-len(v.Hits))
	}
	return b.String()
}

// SARIF 2.1.0 (OASIS): one run, the rules in tool.driver.rules, one
// result per rule with kind pass / fail / notApplicable. Paths a path rule
// matched are locations relative to the image's root file system
// (uriBaseId IMAGEROOT); threshold rules point at the image itself, a
// logical location.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                    `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactDesc `json:"originalUriBaseIds"`
	Results            []sarifResult                `json:"results"`
	Invocations        []sarifInvocation            `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	ShortDescription     sarifText      `json:"shortDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifArtifactDesc struct {
	Description sarifText `json:"description"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Kind      string          `json:"kind"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

var ruleHelp = map[string]string{
	LowestEfficiency:         "Fails when the image's efficiency (bytes the final file system shows / regular-file bytes its layers ship) is below the threshold.",
	HighestWastedBytes:       "Fails when the layers ship more bytes than the threshold that the final file system does not show (deleted, overwritten or re-shipped later).",
	HighestUserWastedPercent: "Fails when the waste the image's own steps cause (the base image's own waste excluded) exceeds this share of the bytes those steps ship.",
}

// WriteSARIF writes the verdicts for image as a SARIF 2.1.0 log.
func (res *Result) WriteSARIF(w io.Writer, image, version string) error {
	run := sarifRun{
		Tool:               sarifTool{Driver: sarifDriver{Name: "strata", InformationURI: "https://github.com/strata-tool/strata", Version: version, Rules: []sarifRule{}}},
		OriginalURIBaseIDs: map[string]sarifArtifactDesc{"IMAGEROOT": {Description: sarifText{Text: "the root of the file system of image " + image}}},
		Results:            []sarifResult{},
		Invocations:        []sarifInvocation{{ExecutionSuccessful: true}},
	}
	for i, v := range res.Verdicts {
		help := ruleHelp[v.Rule]
		if help == "" {
			help = fmt.Sprintf("Fails when a path matching %s %s.", strings.TrimPrefix(v.Rule, "path "), map[string]string{"final": "is in the final file system", "layers": "ships in any layer"}[v.Config])
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: v.Rule, ShortDescription: sarifText{Text: v.Rule + ": " + v.Config},
			Help: sarifText{Text: help}, DefaultConfiguration: map[string]any{"level": "error", "enabled": v.Status != Skip}})
		r := sarifResult{RuleID: v.Rule, RuleIndex: i, Kind: map[Status]string{Pass: "pass", Fail: "fail", Skip: "notApplicable"}[v.Status],
			Level: "none", Message: sarifText{Text: v.Message}}
		if v.Status == Fail {
			r.Level = "error"
		}
		for _, h := range v.Hits {
			r.Locations = append(r.Locations, sarifLocation{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: escapeURI(h.Path), URIBaseID: "IMAGEROOT"}},
				Message: &sarifText{Text: fmt.Sprintf("%s of %d bytes shipped by %s", h.Type, h.Size, stepWord(h))}})
		}
		if len(r.Locations) == 0 {
			r.Locations = []sarifLocation{{LogicalLocations: []sarifLogical{{Name: image, FullyQualifiedName: image, Kind: "module"}}}}
		}
		run.Results = append(run.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// escapeURI makes an image path a relative URI reference: each segment
// percent-encoded where a URI needs it.
func escapeURI(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
