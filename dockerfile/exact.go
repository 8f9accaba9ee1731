package dockerfile

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/lineage"
)

var directiveRe = regexp.MustCompile(`^#\s*[a-zA-Z][a-zA-Z0-9]*\s*=`)

// Exact prints a Dockerfile the image itself kept (a BuildKit provenance
// attestation in mode=max) byte for byte, with one comment line saying
// where it came from — placed after any parser directives, which must stay
// first. It still reads the history and reports, as notes, every RUN the
// history has that the Dockerfile does not.
//
// Byte for byte, except for terminal control characters (ESC, BEL, a bare
// CR…), which the Dockerfile's author could have hidden anything behind:
// those are shown as visible escapes (safetext), under a comment and a
// note saying the text is then not byte for byte.
func Exact(img *image.Image, text []byte, origin string) *Result {
	body := string(text)
	shown, marked := body, ""
	if !safetext.Safe(body) {
		shown = safetext.Escape(body)
		marked = "# NOTE: the recorded Dockerfile holds control characters, shown here as \\x escapes: this text is not byte for byte the recorded one\n"
	}
	var head strings.Builder
	rest := shown
	for {
		line, after, found := strings.Cut(rest, "\n")
		if !found || !directiveRe.MatchString(line) {
			break
		}
		head.WriteString(line + "\n")
		rest = after
	}
	out := head.String() + "# " + oneLine(origin) + "\n" + marked + rest
	res := Render(img, Options{})
	res.Text = out
	if marked != "" {
		res.Notes = []string{"the recorded Dockerfile holds terminal control characters; they are printed as visible escapes"}
	} else {
		res.Notes = nil
	}
	res.From = From{Base: lineage.Base{Kind: "provenance", Evidence: []string{origin}}}
	if lastStageFrom(body) != "" {
		res.From.Ref = lastStageFrom(body)
	}
	res.Notes = append(res.Notes, checkRuns(body, res.Records)...)
	return res
}

func lastStageFrom(text string) string {
	stages, _, err := Parse(text)
	if err != nil || len(stages) == 0 {
		return ""
	}
	return stages[len(stages)-1].BaseName
}

// checkRuns compares the history's RUN steps with the Dockerfile's: every
// RUN of the stages the final image is built from must be in the history,
// and when that chain starts FROM scratch every RUN in the history must be
// in those stages (otherwise the base image's own RUNs come first).
func checkRuns(text string, recs []Record) []string {
	stages, _, err := Parse(text)
	if err != nil {
		return []string{"the recorded Dockerfile does not parse: " + err.Error()}
	}
	chain := []int{len(stages) - 1}
	for {
		cur := stages[chain[len(chain)-1]]
		next := -1
		for j := 0; j < chain[len(chain)-1]; j++ {
			if stages[j].Name != "" && strings.EqualFold(stages[j].Name, cur.BaseName) {
				next = j
			}
		}
		if next < 0 {
			break
		}
		chain = append(chain, next)
	}
	fromScratch := stages[chain[len(chain)-1]].BaseName == "scratch"
	have := map[string]bool{}
	var dfRuns [][]string
	for _, i := range chain {
		for _, c := range stages[i].Commands {
			if run, ok := c.(*instructions.RunCommand); ok {
				ks := runKeys(run)
				dfRuns = append(dfRuns, ks)
				for _, k := range ks {
					have[k] = true
				}
			}
		}
	}
	hist := map[string]bool{}
	var notes []string
	for _, r := range recs {
		in := r.Parsed
		if in.Keyword != "RUN" || in.Unparsed {
			continue
		}
		k := normSpace(in.Args)
		if in.ExecForm {
			k = normSpace(strings.Join(in.Argv, " "))
		}
		hist[k] = true
		if fromScratch && !have[k] {
			notes = append(notes, fmt.Sprintf("step %d (%s) is not a RUN of the recorded Dockerfile", r.Step, oneLine(in.Raw)))
		}
	}
	for _, ks := range dfRuns {
		found := false
		for _, k := range ks {
			found = found || hist[k]
		}
		if !found {
			notes = append(notes, fmt.Sprintf("RUN %s of the recorded Dockerfile is not in the image history", oneLine(ks[0])))
		}
	}
	return notes
}

// runKeys gives the forms a RUN's command can take in history.
func runKeys(run *instructions.RunCommand) []string {
	var keys []string
	cmd := strings.Join(run.CmdLine, " ")
	keys = append(keys, normSpace(cmd))
	if !run.PrependShell && len(run.CmdLine) == 3 {
		// RUN ["/bin/sh", "-c", X] is recorded as the shell form X.
		keys = append(keys, normSpace(run.CmdLine[2]))
	}
	for _, f := range run.Files {
		keys = append(keys, normSpace(f.Data))
	}
	return keys
}

// normSpace collapses whitespace, for comparing commands whose line
// continuations were joined differently.
func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
