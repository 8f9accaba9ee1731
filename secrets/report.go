package secrets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

var fingerprintRe = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ParseIgnore reads an ignore file: one fingerprint a line (its first
// word), # comments and blank lines skipped.
func ParseIgnore(r io.Reader) (map[string]bool, error) {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !fingerprintRe.MatchString(fields[0]) {
			return nil, fmt.Errorf("line %d: %q is not a finding's fingerprint (16 hex digits, as strata secrets prints)", n, fields[0])
		}
		out[fields[0]] = true
	}
	return out, sc.Err()
}

// SARIF writes the findings as a SARIF 2.1.0 log (one run, strata as
// the tool): files as physical locations, the other surfaces as logical
// ones; each result carries the fingerprint strata ignores findings by.
func (r *Report) SARIF(w io.Writer, image, version string) error {
	used := map[string]bool{}
	var results []map[string]any
	for _, f := range r.Findings {
		used[f.Rule] = true
		res := map[string]any{
			"ruleId":              f.Rule,
			"level":               "error",
			"message":             map[string]any{"text": sarifMessage(f)},
			"partialFingerprints": map[string]string{"strataFingerprint/v1": f.Fingerprint},
			"properties": map[string]any{"surface": f.Surface, "step": f.Step, "layer": f.Layer,
				"deletedLater": f.DeletedLater, "value": f.Value},
		}
		if f.Surface == SurfaceFile {
			loc := map[string]any{"artifactLocation": map[string]any{"uri": strings.TrimPrefix(f.Path, "/")}}
			if f.Line > 0 {
				loc["region"] = map[string]any{"startLine": f.Line}
			}
			res["locations"] = []any{map[string]any{"physicalLocation": loc}}
		} else {
			name := f.Surface
			if f.Key != "" {
				name += "/" + f.Key
			} else if f.Step > 0 {
				name += fmt.Sprintf("/step-%d", f.Step)
			}
			res["locations"] = []any{map[string]any{"logicalLocations": []any{map[string]any{"fullyQualifiedName": name, "kind": "resource"}}}}
		}
		results = append(results, res)
	}
	var ruleList []map[string]any
	descs := Rules()
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ruleList = append(ruleList, map[string]any{"id": id, "shortDescription": map[string]string{"text": descs[id]}})
	}
	if results == nil {
		results = []map[string]any{}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{"name": "strata", "version": version,
				"informationUri": "https://github.com/strata-tool/strata", "rules": ruleList}},
			"properties": map[string]any{"image": image},
			"results":    results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func sarifMessage(f Finding) string {
	s := fmt.Sprintf("%s in %s", f.Description, f.Surface)
	switch {
	case f.Path != "":
		s += " " + f.Path
	case f.Key != "":
		s += " " + f.Key
	}
	if f.Step > 0 {
		s += fmt.Sprintf(" (step %d)", f.Step)
	}
	if f.DeletedLater {
		s += fmt.Sprintf("; %s at step %d but still in the image's layers", f.RemovedBy, f.RemovedStep)
	}
	return s + ": " + f.Value
}
