// Package gate is the CI gate over a waste report: it reads dive's
// .dive-ci rules (lowestEfficiency, highestWastedBytes,
// highestUserWastedPercent, with dive's own value syntax) plus path rules
// (fail when a matching path ships), gives each rule a verdict, and writes
// the verdicts as JUnit XML and SARIF 2.1.0 for CI systems.
package gate

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"

	"github.com/strata-tool/strata/layerindex"
)

// Rule names, as dive's .dive-ci spells them.
const (
	LowestEfficiency         = "lowestEfficiency"
	HighestWastedBytes       = "highestWastedBytes"
	HighestUserWastedPercent = "highestUserWastedPercent"
)

// DefaultFile is the file --ci reads when no other is named, as dive does.
const DefaultFile = ".dive-ci"

// Config is a set of rules. A rule's Raw is its value as written
// ("0.95", "20MB", "disabled").
type Config struct {
	// Source is the file the rules came from ("" for dive's defaults).
	Source string
	Rules  []Threshold
	Paths  []PathRule
	// Notes are what was read but not used (unknown rule names).
	Notes []string
}

// Threshold is one of dive's three rules.
type Threshold struct {
	Name     string
	Raw      string
	Disabled bool
	// Value is a ratio (0–1) for the efficiency and user-waste rules and
	// a byte count for highestWastedBytes.
	Value float64
}

// PathRule fails when a path matching Glob ships: in any layer (the
// default, "layers": a later deletion does not unship it), or only in
// the final file system ("final").
type PathRule struct {
	Glob    string
	In      string
	pattern layerindex.Pattern
}

// Default is dive's configuration when no .dive-ci exists.
func Default() *Config {
	c, err := parse(map[string]string{LowestEfficiency: "0.9", HighestWastedBytes: "disabled", HighestUserWastedPercent: "0.1"})
	if err != nil {
		panic(err) // the literal above is valid
	}
	return &Config{Rules: c}
}

// file is .dive-ci: dive reads `rules:` (camelCase, or the kebab-case
// names of its newer application config); `pathRules:` is strata's and
// dive ignores it.
type file struct {
	Rules     map[string]yaml.Node `yaml:"rules"`
	PathRules []yaml.Node          `yaml:"pathRules"`
}

var kebab = map[string]string{
	"lowest-efficiency":           LowestEfficiency,
	"highest-wasted-bytes":        HighestWastedBytes,
	"highest-user-wasted-percent": HighestUserWastedPercent,
}

// Load reads a rules file. Rules it does not set keep dive's defaults, as
// dive does.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CI rules: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Source = path
	return c, nil
}

// Parse reads the rules of a .dive-ci document.
func Parse(b []byte) (*Config, error) {
	var f file
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a .dive-ci file: %w", err)
	}
	vals := map[string]string{LowestEfficiency: "0.9", HighestWastedBytes: "disabled", HighestUserWastedPercent: "0.1"}
	c := &Config{}
	names := make([]string, 0, len(f.Rules))
	for k := range f.Rules {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		n := f.Rules[k]
		name := k
		if m, ok := kebab[k]; ok {
			name = m
		}
		if _, ok := vals[name]; !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("rule %q is not one strata knows; ignored", k))
			continue
		}
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("rule %s: want a value such as 0.95, 20MB or disabled", k)
		}
		vals[name] = n.Value
	}
	var err error
	if c.Rules, err = parse(vals); err != nil {
		return nil, err
	}
	for i := range f.PathRules {
		p, err := pathRule(&f.PathRules[i])
		if err != nil {
			return nil, err
		}
		c.Paths = append(c.Paths, p)
	}
	return c, nil
}

func pathRule(n *yaml.Node) (PathRule, error) {
	var p PathRule
	switch n.Kind {
	case yaml.ScalarNode:
		p.Glob = n.Value
	case yaml.MappingNode:
		var m struct {
			Path string `yaml:"path"`
			In   string `yaml:"in"`
		}
		if err := n.Decode(&m); err != nil {
			return p, fmt.Errorf("pathRules: %w", err)
		}
		p.Glob, p.In = m.Path, m.In
	default:
		return p, errors.New("pathRules: want a glob, or {path: GLOB, in: layers|final}")
	}
	switch p.In {
	case "":
		p.In = "layers"
	case "layers", "final":
	default:
		return p, fmt.Errorf("pathRules %q: in: %q, want layers or final", p.Glob, p.In)
	}
	if strings.TrimSpace(p.Glob) == "" {
		return p, errors.New("pathRules: an empty glob would match every path")
	}
	pt, err := layerindex.ParsePattern(p.Glob)
	if err != nil {
		return p, fmt.Errorf("pathRules: %w", err)
	}
	p.pattern = pt
	return p, nil
}

// parse checks values the way dive does: the ratios between 0 and 1, the
// byte count in go-humanize's syntax (20MB = 20,000,000; 20MiB =
// 20,971,520), and disabled/off/false/empty turning a rule off.
func parse(vals map[string]string) ([]Threshold, error) {
	var out []Threshold
	var errs []error
	for _, name := range []string{LowestEfficiency, HighestWastedBytes, HighestUserWastedPercent} {
		raw := vals[name]
		t := Threshold{Name: name, Raw: raw}
		switch v := strings.ToLower(strings.TrimSpace(raw)); {
		case v == "" || v == "disabled" || v == "off" || v == "false":
			t.Disabled = true
		case name == HighestWastedBytes:
			n, err := humanize.ParseBytes(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a size such as 20MB", name, raw))
			}
			t.Value = float64(n)
		default:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				errs = append(errs, fmt.Errorf("%s: %q is not a ratio between 0 and 1 (0.95 means 95 %%)", name, raw))
			}
			t.Value = f
		}
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}
