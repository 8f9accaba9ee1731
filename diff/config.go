package diff

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

// configChanges lists the run-time config fields that differ. Maps (env,
// labels, ports, volumes) are compared key by key so a change reads as
// "env PATH: x → y" rather than as two unequal lists.
func configChanges(a, b *image.Image, opts Options, firstStep int) []Change {
	ca, cb := a.Config.Config, b.Config.Config
	var out []Change
	scalar := func(field, x, y string) {
		if x != y {
			out = append(out, Change{Field: field, A: optional(x), B: optional(y)})
		}
	}
	list := func(field string, x, y []string) {
		if !equalStrings(x, y) {
			out = append(out, Change{Field: field, A: jsonList(x), B: jsonList(y)})
		}
	}

	out = append(out, keyed("env", envMap(ca.Env), envMap(cb.Env))...)
	var setA, setB map[string]int
	for _, c := range keyed("label", ca.Labels, cb.Labels) {
		if setA == nil {
			// Once per image: per label, it made diff quadratic.
			setA, setB = labelSteps(a), labelSteps(b)
		}
		c.Note = labelOrigin(setA, setB, c.Key, firstStep)
		out = append(out, c)
	}
	list("entrypoint", ca.Entrypoint, cb.Entrypoint)
	list("cmd", ca.Cmd, cb.Cmd)
	scalar("user", ca.User, cb.User)
	scalar("workdir", ca.WorkingDir, cb.WorkingDir)
	out = append(out, keyed("port", setMap(ca.ExposedPorts), setMap(cb.ExposedPorts))...)
	out = append(out, keyed("volume", setMap(ca.Volumes), setMap(cb.Volumes))...)
	scalar("healthcheck", healthcheck(ca.Healthcheck), healthcheck(cb.Healthcheck))
	scalar("stopsignal", ca.StopSignal, cb.StopSignal)
	list("shell", ca.Shell, cb.Shell)
	list("onbuild", ca.OnBuild, cb.OnBuild)
	scalar("platform", platformOf(a), platformOf(b))
	scalar("author", a.Config.Author, b.Config.Author)
	if !opts.IgnoreTimestamps {
		scalar("created", timeText(a.Config.Created), timeText(b.Config.Created))
	}
	return out
}

// keyed diffs two maps key by key, in key order. A key present on one side
// only has a nil value on the other.
func keyed(field string, x, y map[string]string) []Change {
	keys := map[string]bool{}
	for k := range x {
		keys[k] = true
	}
	for k := range y {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []Change
	for _, k := range sorted {
		vx, okx := x[k]
		vy, oky := y[k]
		if okx == oky && vx == vy {
			continue
		}
		c := Change{Field: field, Key: k}
		if okx {
			c.A = strp(vx)
		}
		if oky {
			c.B = strp(vy)
		}
		out = append(out, c)
	}
	return out
}

// labelOrigin says, for a differing label, whether each side set it in its
// own steps (after the histories diverge) or inherited it from the steps
// both share. Only history can tell; without a LABEL step for the key the
// origin is unknown and nothing is said.
func labelOrigin(setA, setB map[string]int, key string, firstStep int) string {
	var parts []string
	for _, s := range []struct {
		name string
		set  map[string]int
	}{{"A", setA}, {"B", setB}} {
		at, ok := s.set[key]
		switch {
		case !ok:
		case firstStep >= 0 && at >= firstStep:
			parts = append(parts, fmt.Sprintf("%s sets it in its own step %d", s.name, at+1))
		default:
			parts = append(parts, fmt.Sprintf("%s inherits it from shared step %d", s.name, at+1))
		}
	}
	return strings.Join(parts, "; ")
}

// labelSteps maps each label key to the last history entry (0-based) with
// a LABEL step setting it.
func labelSteps(img *image.Image) map[string]int {
	set := map[string]int{}
	for i, in := range history.TranslateAll(img) {
		if in.Keyword != "LABEL" {
			continue
		}
		for _, p := range in.Pairs {
			set[p.Key] = i
		}
	}
	return set
}

// envMap splits KEY=value entries; a bare KEY maps to "".
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func setMap(s map[string]struct{}) map[string]string {
	m := make(map[string]string, len(s))
	for k := range s {
		m[k] = ""
	}
	return m
}

func healthcheck(h *image.Healthcheck) string {
	if h == nil {
		return ""
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Sprint(*h)
	}
	return string(b)
}

func platformOf(img *image.Image) string {
	p := img.Platform
	if p.OS == "" && p.Architecture == "" {
		p = image.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
	}
	if p.OS == "" && p.Architecture == "" {
		return ""
	}
	return p.String()
}

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return strp(s)
}

func jsonList(s []string) *string {
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(s)
	return strp(string(b))
}

func equalStrings(x, y []string) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
