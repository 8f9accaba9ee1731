package gate

import (
	"fmt"
	"io"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

// Status is a rule's verdict.
type Status string

// Verdicts.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip" // the rule is disabled
)

// Verdict is one rule's outcome.
type Verdict struct {
	Rule    string `json:"rule"`
	Config  string `json:"config"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Path rules: how many entries matched, their bytes, and the first
	// few (layer order, then path order).
	Matches      int   `json:"matches,omitempty"`
	MatchedBytes int64 `json:"matched_bytes,omitempty"`
	Hits         []Hit `json:"hits,omitempty"`
}

// Hit is one shipped entry a path rule matched.
type Hit struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Size  int64  `json:"size"`
	Layer int    `json:"layer"`
	Step  int    `json:"step"`
}

// Result is every rule's verdict; Pass is false when any rule failed.
type Result struct {
	Config   string    `json:"config"`
	Pass     bool      `json:"pass"`
	Verdicts []Verdict `json:"rules"`
	Notes    []string  `json:"notes,omitempty"`
}

// maxHits bounds the hits a verdict lists.
const maxHits = 20

// Evaluate judges a report by c. im (its layers loaded) is needed only
// for path rules; it may be nil when c has none.
func Evaluate(c *Config, r *waste.Report, im *layerindex.Image) (*Result, error) {
	res := &Result{Config: c.Source, Pass: true, Notes: c.Notes}
	if res.Config == "" {
		res.Config = "dive's defaults"
	}
	for _, t := range c.Rules {
		res.add(threshold(t, r))
	}
	for _, p := range c.Paths {
		v, err := pathVerdict(p, im)
		if err != nil {
			return nil, err
		}
		res.add(v)
	}
	return res, nil
}

func (res *Result) add(v Verdict) {
	res.Verdicts = append(res.Verdicts, v)
	if v.Status == Fail {
		res.Pass = false
	}
}

func threshold(t Threshold, r *waste.Report) Verdict {
	v := Verdict{Rule: t.Name, Config: t.Raw, Status: Pass}
	if t.Disabled {
		v.Status, v.Message = Skip, "rule disabled"
		return v
	}
	var bad bool
	switch t.Name {
	case LowestEfficiency:
		bad = r.Efficiency < t.Value
		v.Message = fmt.Sprintf("efficiency %.2f %% %s %.2f %%", 100*r.Efficiency, cmpWord(bad, "<", "≥"), 100*t.Value)
	case HighestWastedBytes:
		bad = float64(r.WastedBytes) > t.Value
		v.Message = fmt.Sprintf("%s wasted %s %s (%s)", humanize.Bytes(r.WastedBytes), cmpWord(bad, ">", "≤"), humanize.Bytes(int64(t.Value)), t.Raw)
	case HighestUserWastedPercent:
		bad = r.UserWastedPercent/100 > t.Value
		v.Message = fmt.Sprintf("the image's own steps waste %.2f %% of the bytes they ship (%s) %s %.2f %%", r.UserWastedPercent,
			humanize.Bytes(r.UserWastedBytes), cmpWord(bad, ">", "≤"), 100*t.Value)
	}
	if bad {
		v.Status = Fail
	}
	return v
}

func cmpWord(bad bool, failed, passed string) string {
	if bad {
		return failed
	}
	return passed
}

func pathVerdict(p PathRule, im *layerindex.Image) (Verdict, error) {
	v := Verdict{Rule: "path " + p.Glob, Config: p.In, Status: Pass}
	if im == nil {
		return v, fmt.Errorf("path rule %s: the layers are not loaded", p.Glob)
	}
	hit := func(f layerindex.File) {
		v.Matches++
		if f.Type.String() == "file" {
			v.MatchedBytes += f.Size
		}
		if len(v.Hits) < maxHits {
			h := Hit{Path: f.Path, Type: f.Type.String(), Size: f.Size, Layer: f.Layer}
			if s, ok := im.Step(f.Layer); ok {
				h.Step = s.Step
			}
			v.Hits = append(v.Hits, h)
		}
	}
	if p.In == "final" {
		fsys, err := im.Merge(len(im.Image.Layers))
		if err != nil {
			return v, err
		}
		for _, f := range fsys.Files() {
			if p.pattern.Match(f.Path) {
				hit(f)
			}
		}
	} else {
		for i := range im.Image.Layers {
			ix := im.Layer(i)
			if ix == nil {
				return v, fmt.Errorf("layer %d is not loaded", i)
			}
			for j := range ix.Entries {
				e := &ix.Entries[j]
				if !e.Whiteout && !e.Opaque && p.pattern.Match(e.Path) {
					hit(layerindex.File{Entry: e, Layer: i, Ord: j})
				}
			}
		}
	}
	where := "in the image's layers"
	if p.In == "final" {
		where = "in the final file system"
	}
	if v.Matches == 0 {
		v.Message = "nothing matching " + where
		return v, nil
	}
	v.Status = Fail
	first := v.Hits[0]
	v.Message = fmt.Sprintf("%d matching path%s %s (%s), first %s (%s)", v.Matches, plural(v.Matches), where,
		humanize.Bytes(v.MatchedBytes), first.Path, stepWord(first))
	return v, nil
}

func stepWord(h Hit) string {
	if h.Step > 0 {
		return fmt.Sprintf("step %d", h.Step)
	}
	return fmt.Sprintf("layer %d", h.Layer)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// WriteText prints each rule's verdict and the overall result.
func (res *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "CI rules (%s):\n", res.Config)
	var pass, fail, skip int
	for _, v := range res.Verdicts {
		switch v.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
		fmt.Fprintf(w, "  %-4s  %s: %s\n", map[Status]string{Pass: "PASS", Fail: "FAIL", Skip: "SKIP"}[v.Status], safetext.Line(v.Rule), safetext.Line(v.Message))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL"
	}
	_, err := fmt.Fprintf(w, "result: %s (%d passed, %d failed, %d skipped)\n", verdict, pass, fail, skip)
	return err
}
