package dockerfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/repoinfo"
	"github.com/strata-tool/strata/internal/testenv"
)

// knownRunGaps are RUNs the fixtures themselves say cannot match:
// python:3-alpine3.23 was built from a later commit than the Dockerfile at
// hand, with an extra g++ in one RUN (fixtures/SOURCES.md).
var knownRunGaps = map[string]int{"python/3.14.7-alpine3.23": 1}

type officialPair struct {
	dockerfiles []string // under fixtures/dockerfiles, applied in order
	info        string   // under fixtures/repo-info/repos
	parent      string   // parent's repo-info file, if at hand
}

var indexRowRe = regexp.MustCompile(`^\| ([^|]+) \| ([a-z0-9.-]+/remote/[^ |]+\.md)[^|]*\| ([^|]*)\|`)
var parentInfoRe = regexp.MustCompile(`\(([a-z0-9.-]+/remote/[^ )]+\.md)\)`)

// officialPairs reads fixtures/dockerfiles/INDEX.md, which pairs each
// official image's repo-info history with the Dockerfiles that built it.
func officialPairs(t *testing.T, fx string) []officialPair {
	b, err := os.ReadFile(filepath.Join(fx, "dockerfiles", "INDEX.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []officialPair
	for _, line := range strings.Split(string(b), "\n") {
		m := indexRowRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p := officialPair{info: m[2]}
		for _, d := range strings.Split(m[1], "+") {
			p.dockerfiles = append(p.dockerfiles, strings.TrimSpace(d))
		}
		if pm := parentInfoRe.FindStringSubmatch(m[3]); pm != nil {
			p.parent = pm[1]
		}
		out = append(out, p)
	}
	if len(out) < 10 {
		t.Fatalf("INDEX.md gave only %d pairs", len(out))
	}
	return out
}

func amd64(t *testing.T, path string) *image.Image {
	t.Helper()
	f, err := repoinfo.ParseFile(path)
	if err != nil {
		t.Fatalf("repo-info %s: %v", path, err)
	}
	s, ok := f.Platform(image.Platform{OS: "linux", Architecture: "amd64"})
	if !ok || s.Image == nil {
		t.Fatalf("%s: no linux/amd64 image", path)
	}
	return s.Image
}

// TestOfficialFidelity rebuilds each official image's Dockerfile from its
// repo-info history and compares it with the Dockerfile that really built
// it: every RUN in order, and the ENV/EXPOSE/CMD/ENTRYPOINT it sets.
func TestOfficialFidelity(t *testing.T) {
	fx := testenv.Fixtures(t)
	var table []string
	totalRuns, totalGot := 0, 0
	for _, p := range officialPairs(t, fx) {
		name := strings.Join(p.dockerfiles, "+")
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			img := amd64(t, filepath.Join(fx, "repo-info", "repos", p.info))
			res := dockerfile.Render(img, dockerfile.Options{})
			if err := dockerfile.Validate(res.Text); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, res.Text)
			}
			checkConfig(t, img, res)
			got, err := replay(res.Text, nil)
			if err != nil {
				t.Fatal(err)
			}
			var parentEnv []string
			if p.parent != "" {
				if _, err := os.Stat(filepath.Join(fx, "repo-info", "repos", p.parent)); err == nil {
					parentEnv = amd64(t, filepath.Join(fx, "repo-info", "repos", p.parent)).Config.Config.Env
				}
			}
			if _, ok := envMap(parentEnv)["PATH"]; !ok {
				// The builder gives a base with no PATH the default one;
				// repo-info prints no ENV line for it.
				parentEnv = append(parentEnv, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
			}
			var want *replayed
			var wantRuns []string
			for _, d := range p.dockerfiles {
				text, err := os.ReadFile(filepath.Join(fx, "dockerfiles", d, "Dockerfile"))
				if err != nil {
					t.Fatal(err)
				}
				env := parentEnv
				if want != nil {
					env = envSlice(want.Env)
				}
				w, err := replay(string(text), env)
				if err != nil {
					t.Fatalf("original %s: %v", d, err)
				}
				wantRuns = append(wantRuns, w.Runs...)
				if want != nil {
					mergeReplay(w, want)
				}
				want = w
			}
			found := subsequence(normAll(wantRuns), normAll(got.Runs))
			gap := knownRunGaps[name]
			if found < len(wantRuns)-gap {
				t.Errorf("%d of %d original RUNs recovered in order", found, len(wantRuns))
			}
			envOK, envN := 0, 0
			for k, v := range want.Env {
				if _, inParent := envMap(parentEnv)[k]; inParent && envMap(parentEnv)[k] == v {
					continue
				}
				envN++
				if got.Env[k] == v {
					envOK++
				} else {
					t.Errorf("ENV %s: reconstructed %q, original %q", k, got.Env[k], v)
				}
			}
			expose := "-"
			if len(want.Ports) > 0 {
				expose = "ok"
				if !reflect.DeepEqual(want.Ports, got.Ports) {
					expose = "DIFF"
					t.Errorf("EXPOSE: reconstructed %v, original %v", got.Ports, want.Ports)
				}
			}
			cmd := cmp(t, "CMD", want.HasCmd, want.Cmd, got.Cmd)
			ep := cmp(t, "ENTRYPOINT", want.HasEntry, want.Entrypoint, got.Entrypoint)
			totalRuns += len(wantRuns)
			totalGot += found
			note := ""
			if gap > 0 && found < len(wantRuns) {
				note = " (known: image built from a later commit)"
			}
			table = append(table, fmt.Sprintf("%-45s %-22s %2d/%-2d %6s %6s %-6s %-6s %s", name, img.Reference[strings.Index(img.Reference, ":")+1:],
				found, len(wantRuns), fmt.Sprintf("%d/%d", envOK, envN), expose, cmd, ep, "yes"+note))
		})
	}
	t.Logf("official-image fidelity (history → Dockerfile vs the Dockerfile that built it):\n%-45s %-22s %-5s %6s %6s %-6s %-6s %s\n%s\nRUNs recovered in order: %d/%d",
		"Dockerfile", "tag", "RUN", "ENV", "EXPOSE", "CMD", "ENTRY", "parses", strings.Join(table, "\n"), totalGot, totalRuns)
}

func cmp(t *testing.T, what string, set bool, want, got []string) string {
	if !set {
		return "-"
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: reconstructed %q, original %q", what, got, want)
		return "DIFF"
	}
	return "ok"
}

// mergeReplay carries what an earlier Dockerfile of a chain set into the
// replay of the next one.
func mergeReplay(w, prev *replayed) {
	for k, v := range prev.Labels {
		if _, ok := w.Labels[k]; !ok {
			w.Labels[k] = v
		}
	}
	if !w.HasCmd && !w.HasEntry {
		w.Cmd, w.HasCmd = prev.Cmd, prev.HasCmd
	}
	if !w.HasEntry {
		w.Entrypoint, w.HasEntry = prev.Entrypoint, prev.HasEntry
	}
	ports := map[string]bool{}
	for _, p := range append(prev.Ports, w.Ports...) {
		ports[p] = true
	}
	w.Ports = keys(ports)
}

// subsequence counts how many of want appear in got, in order.
func subsequence(want, got []string) int {
	n, j := 0, 0
	for _, w := range want {
		for k := j; k < len(got); k++ {
			if got[k] == w {
				n, j = n+1, k+1
				break
			}
		}
	}
	return n
}

func normAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Join(strings.Fields(s), " ")
	}
	return out
}

func envSlice(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}
