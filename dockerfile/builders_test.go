package dockerfile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestBuilderFidelity reconstructs the project's own test Dockerfiles
// (testdata/builders) from the images real builders made of them, and
// compares with the originals. Every RUN must come back, in order; the
// output must replay to the image's config (strata's job); where the
// config itself differs from the original (the builder's loss) that is
// listed per builder, not skipped.
func TestBuilderFidelity(t *testing.T) {
	built := testenv.BuiltImages(t)
	type row struct {
		images, runs, runsRecorded, runsGot, checks, checksOK int
		losses                                                map[string]bool
	}
	rows := map[string]*row{}
	for _, b := range built {
		ref := b.Refs["oci-layout"]
		if ref == "" {
			ref = b.Refs["registry"]
		}
		if ref == "" {
			for _, r := range b.Refs {
				ref = r
				break
			}
		}
		t.Run(b.Builder+"/"+b.Name, func(t *testing.T) {
			rw := rows[b.Builder]
			if rw == nil {
				rw = &row{losses: map[string]bool{}}
				rows[b.Builder] = rw
			}
			src, err := source.Open(context.Background(), ref, source.Options{Insecure: true, DockerHost: os.Getenv("STRATA_TEST_DOCKER_HOST")})
			if err != nil {
				t.Fatalf("open %s: %v", ref, err)
			}
			defer src.Close()
			img := src.Image()
			res := dockerfile.Render(img, dockerfile.Options{})
			if err := dockerfile.Validate(res.Text); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, res.Text)
			}
			rw.images++
			checkConfig(t, img, res)
			got, err := replay(res.Text, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantRuns, want := originalRuns(t, b)
			gotRuns := normRuns(got.Runs)
			// A RUN the builder did not write into the history is the
			// builder's loss (buildah --squash drops base stages); one it
			// wrote that strata's output lacks is strata's failure.
			// A RUN of a base the output names in FROM is folded away with
			// the base's other steps, by design.
			var recorded []string
			own, folded := img.History[res.From.FoldedEntries:], img.History[:res.From.FoldedEntries]
			for _, w := range wantRuns {
				switch {
				case inHistory(own, w):
					recorded = append(recorded, w)
				case inHistory(folded, w):
				default:
					rw.losses["RUN absent from the image history: "+w] = true
				}
			}
			found := subsequence(recorded, gotRuns)
			rw.runs += len(wantRuns)
			rw.runsRecorded += len(recorded)
			rw.runsGot += found
			if found < len(recorded) {
				t.Errorf("%d of %d recorded RUNs recovered in order\nwant %q\ngot  %q\n%s", found, len(recorded), recorded, gotRuns, res.Text)
			}
			for _, rec := range res.Records {
				for _, l := range rec.Parsed.Lost {
					rw.losses[lossKind(l)] = true
				}
				if rec.Parsed.Confidence == "guess" {
					rw.losses["exec-form RUN argument boundaries (history joins argv with spaces)"] = true
				}
				if rec.Parsed.Unparsed {
					rw.losses[rec.Parsed.Keyword+" text unreadable in history (taken from config)"] = true
				}
			}
			// Metadata: original vs reconstructed.
			cmpField := func(what string, w, g any, set bool) {
				if !set {
					return
				}
				rw.checks++
				if reflect.DeepEqual(w, g) {
					rw.checksOK++
					return
				}
				rw.losses[fmt.Sprintf("%s differs from the Dockerfile (%v vs %v) — the image config says %s", what, w, g, configSays(what, img.Config.Config))] = true
			}
			for k, v := range want.Env {
				cmpField("ENV "+k, v, got.Env[k], true)
			}
			for k, v := range want.Labels {
				cmpField("LABEL "+k, v, got.Labels[k], true)
			}
			cmpField("EXPOSE", want.Ports, got.Ports, len(want.Ports) > 0)
			cmpField("VOLUME", want.Volumes, got.Volumes, len(want.Volumes) > 0)
			cmpField("CMD", want.Cmd, got.Cmd, want.HasCmd)
			cmpField("ENTRYPOINT", want.Entrypoint, got.Entrypoint, want.HasEntry)
			cmpField("USER", want.User, got.User, want.User != "")
			cmpField("WORKDIR", want.Workdir, got.Workdir, want.Workdir != "")
			cmpField("STOPSIGNAL", want.StopSignal, got.StopSignal, want.StopSignal != "")
			for _, w := range want.Copies {
				var g *copyStep
				for i := range got.Copies {
					if got.Copies[i].Dest == w.Dest {
						g = &got.Copies[i]
					}
				}
				rw.checks++
				switch {
				case g == nil:
					rw.losses["COPY/ADD to "+w.Dest+" missing"] = true
				case g.Chown != w.Chown || g.Chmod != w.Chmod:
					rw.losses[fmt.Sprintf("COPY to %s: flags --chown=%q --chmod=%q came back as --chown=%q --chmod=%q", w.Dest, w.Chown, w.Chmod, g.Chown, g.Chmod)] = true
				case g.From != w.From:
					rw.checksOK++
					rw.losses["COPY --from="+w.From+" (the stage name is not recorded)"] = true
				default:
					rw.checksOK++
				}
			}
			cmpField("HEALTHCHECK", want.Health, got.Health, want.Health != nil)
			cmpField("ONBUILD", want.OnBuild, got.OnBuild, want.OnBuild != nil)
			cmpField("SHELL", want.Shell, effectiveShell(got), !reflect.DeepEqual(want.Shell, []string{"/bin/sh", "-c"}))
		})
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %6s %18s %18s %16s %16s\n", "builder", "images", "RUNs in Dockerfiles", "RUNs in history", "RUNs recovered", "metadata equal")
	for _, n := range names {
		r := rows[n]
		fmt.Fprintf(&b, "%-20s %6d %18d %18d %13d/%-3d %9d/%-6d\n", n, r.images, r.runs, r.runsRecorded, r.runsGot, r.runsRecorded, r.checksOK, r.checks)
	}
	b.WriteString("\nwhat cannot be recovered, per builder:\n")
	for _, n := range names {
		if lostStages[n] {
			rows[n].losses["build stages outside the final image's chain (multistage/ builder stage): no history at all"] = true
		}
		var ls []string
		for l := range rows[n].losses {
			ls = append(ls, l)
		}
		sort.Strings(ls)
		fmt.Fprintf(&b, "%s:\n", n)
		if len(ls) == 0 {
			b.WriteString("  (nothing)\n")
		}
		for _, l := range ls {
			fmt.Fprintf(&b, "  - %s\n", l)
		}
	}
	t.Logf("builder fidelity (testdata/builders rebuilt from real builders' images):\n%s", b.String())
}

// lostStages records builders whose images come from Dockerfiles with
// stages outside the final image's chain (a builder stage): those stages
// leave no history in the image at all.
var lostStages = map[string]bool{}

func countChain(stages []instructions.Stage) int {
	n := 1
	for i := len(stages) - 1; i > 0; {
		next := -1
		for j := 0; j < i; j++ {
			if stages[j].Name != "" && strings.EqualFold(stages[j].Name, stages[i].BaseName) {
				next = j
			}
		}
		if next < 0 {
			break
		}
		n++
		i = next
	}
	return n
}

// inHistory reports whether a (normalised) RUN command appears in any
// created_by of the image, read as plain text.
func inHistory(hist []image.HistoryEntry, run string) bool {
	for _, h := range hist {
		if strings.Contains(strings.Join(strings.Fields(h.CreatedBy), " "), run) {
			return true
		}
		// exec form is recorded as a JSON array by buildah
		var argv []string
		if i := strings.Index(h.CreatedBy, "["); i >= 0 && json.Unmarshal([]byte(h.CreatedBy[i:]), &argv) == nil {
			if normRuns([]string{"exec:" + strings.Join(argv, "\x00")})[0] == run {
				return true
			}
		}
	}
	return false
}

func effectiveShell(r *replayed) []string { return r.Shell }

func configSays(what string, c any) string {
	return fmt.Sprintf("%+v", pick(what, c))
}

func pick(what string, c any) any {
	v := reflect.ValueOf(c)
	switch strings.Fields(what)[0] {
	case "CMD":
		return v.FieldByName("Cmd").Interface()
	case "ENTRYPOINT":
		return v.FieldByName("Entrypoint").Interface()
	case "SHELL":
		return v.FieldByName("Shell").Interface()
	case "HEALTHCHECK":
		return v.FieldByName("Healthcheck").Interface()
	case "ONBUILD":
		return v.FieldByName("OnBuild").Interface()
	case "USER":
		return v.FieldByName("User").Interface()
	case "WORKDIR":
		return v.FieldByName("WorkingDir").Interface()
	case "EXPOSE":
		return v.FieldByName("ExposedPorts").Interface()
	case "VOLUME":
		return v.FieldByName("Volumes").Interface()
	case "STOPSIGNAL":
		return v.FieldByName("StopSignal").Interface()
	case "LABEL":
		return v.FieldByName("Labels").Interface()
	}
	return v.FieldByName("Env").Interface()
}

func lossKind(l string) string {
	if i := strings.Index(l, "("); i > 0 && strings.HasPrefix(l, "source names") {
		return "COPY/ADD source names (only a content hash is recorded)"
	}
	return l
}

// originalRuns is the RUN list the image should show, normalised, with
// the replay of the final stage: the final stage's own RUNs after those of
// the stages (or, for child/, the parent image) it is built FROM.
func originalRuns(t *testing.T, b testenv.BuiltImage) ([]string, *replayed) {
	text, err := os.ReadFile(b.Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := dockerfile.Parse(string(text))
	if err != nil {
		t.Fatalf("original %s: %v", b.Dockerfile, err)
	}
	var runs []string
	var chain func(i int)
	chain = func(i int) {
		st := stages[i]
		for j := 0; j < i; j++ {
			if stages[j].Name != "" && strings.EqualFold(stages[j].Name, st.BaseName) {
				chain(j)
			}
		}
		if b.Name == "child" && i == len(stages)-1 {
			parent := filepath.Join(filepath.Dir(filepath.Dir(b.Dockerfile)), "parent")
			pr, _ := originalRuns(t, testenv.BuiltImage{Name: "parent", Dockerfile: filepath.Join(parent, "Dockerfile")})
			runs = append(runs, pr...)
		}
		for _, c := range st.Commands {
			if r, ok := c.(*instructions.RunCommand); ok {
				runs = append(runs, normRuns([]string{runText(r)})...)
			}
		}
	}
	chain(len(stages) - 1)
	if used := countChain(stages); used < len(stages) {
		lostStages[b.Builder] = true
	}
	want, err := replayArgs(string(text), nil, b.BuildArgs)
	if err != nil {
		t.Fatal(err)
	}
	return runs, want
}

// normRuns makes RUN forms comparable: exec ["/bin/sh","-c",X] is the
// shell form X; other exec forms compare as their argv joined.
func normRuns(runs []string) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		if argv, ok := strings.CutPrefix(r, "exec:"); ok {
			a := strings.Split(argv, "\x00")
			if len(a) == 3 && a[0] == "/bin/sh" && a[1] == "-c" {
				r = a[2]
			} else {
				r = strings.Join(a, " ")
			}
		}
		out[i] = strings.Join(strings.Fields(r), " ")
	}
	return out
}
