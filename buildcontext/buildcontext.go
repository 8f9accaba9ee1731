// Package buildcontext recovers, from an image's layers, the build context
// its COPY and ADD steps read, so that the reconstructed Dockerfile builds
// again: the files each step's layer added are placed at context paths
// named after the sources the history kept (BuildKit), or in a per-step
// folder named after the step and its destination where only a content
// hash survived (the classic builder, buildah); --chown and --chmod the
// history dropped are read back from the tar headers where the step's
// files agree; COPY heredoc bodies are filled in from the file the layer
// holds; an ADD that extracted a local archive becomes a COPY of the
// extracted tree; an ADD of a URL stays one (with --checksum); files a
// COPY --from brought in are placed in the context with a note naming the
// lost stage. RUN steps are re-executed by a rebuild: a note says where one
// is not reproducible (network, clock, randomness).
//
// Recover only plans (and reads heredoc bodies); dockerfile.Render writes
// the plan's Recovered steps; Write puts the Dockerfile and the context
// into a directory through package unpack, so nothing lands outside it
// and no symlink is followed while writing.
package buildcontext

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Options tune Recover.
type Options struct {
	// PreserveSpecial: the context will keep setuid/setgid bits (unpack's
	// --preserve-special). Otherwise they are dropped when the context is
	// written, and a recovered --chmod restores them where it can.
	PreserveSpecial bool
	// Provenance is the Dockerfile a provenance attestation recorded, if
	// any: it names the stages COPY --from read, which the history lost.
	Provenance string
}

// Plan is what the layers tell about the image's steps, and the context
// that goes with it.
type Plan struct {
	// Recovered is Render's input (dockerfile.Options.Recovered), by
	// history entry index.
	Recovered map[int]dockerfile.Recovered `json:"-"`
	// Steps says how each COPY/ADD step was recovered.
	Steps []StepReport `json:"steps"`
	// Files is the build context, directories before what they hold.
	Files []Placed `json:"-"`
	// Bytes is the file content the context holds.
	Bytes int64 `json:"bytes"`
}

// How a step's sources were recovered.
const (
	HowNamed    = "named"    // context paths after the sources the history kept
	HowFolder   = "folder"   // a per-step folder: the history kept a hash only, or the names did not fit
	HowHeredoc  = "heredoc"  // COPY heredoc bodies filled in from the layer
	HowStage    = "stage"    // files a COPY --from brought in
	HowArchive  = "archive"  // an ADD that extracted a local archive: the extracted tree
	HowURL      = "url"      // ADD of a URL, kept as a URL
	HowLost     = "lost"     // nothing recoverable
	HowNotFound = "notfound" // the step's layer holds nothing at its destination
)

// StepReport is one COPY/ADD step's recovery.
type StepReport struct {
	Step    int      `json:"step"` // 1-based, as strata layers numbers it
	Keyword string   `json:"keyword"`
	How     string   `json:"how"`
	Layer   int      `json:"layer"` // -1: none
	Paths   []string `json:"paths,omitempty"`
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
	Notes   []string `json:"notes,omitempty"`
}

// Placed is one entry of the build context.
type Placed struct {
	// Entry is what to write: Path is the context path; a hardlink's Link
	// is a context path too.
	Entry layers.Entry
	// From is the image file whose content a regular file gets.
	From layerindex.File
	Step int
	// root marks the directory a step copies whole.
	root bool
}

// Recover plans the build context of the steps res (dockerfile.Outline or
// Render) puts below FROM,
// reading the layers of its COPY/ADD steps (indexed through im, so a
// cached index costs nothing) and the content of heredoc files only.
func Recover(ctx context.Context, im *layerindex.Image, res *dockerfile.Result, opts Options) (*Plan, error) {
	p := &planner{im: im, opts: opts, plan: &Plan{Recovered: map[int]dockerfile.Recovered{}},
		claims: newClaims(), entries: map[int]map[string]layerindex.File{}, stages: stageNames(opts.Provenance),
		workdirs: map[string]bool{}}
	workdir := "/"
	var steps []*step
	for i, rec := range res.Records {
		in := rec.Parsed
		if in.Keyword == "WORKDIR" {
			workdir = joinWorkdir(workdir, in.Args)
			p.workdirs[strings.TrimPrefix(workdir, "/")] = true
		}
		if rec.InBase {
			continue
		}
		switch in.Keyword {
		case "COPY", "ADD":
			steps = append(steps, p.newStep(i, rec.Step, in, workdir))
		case "RUN":
			if notes := runNotes(in); len(notes) > 0 {
				p.plan.Recovered[i] = dockerfile.Recovered{Notes: notes}
			}
		}
	}
	p.steps = steps
	if err := p.load(ctx, steps); err != nil {
		return nil, err
	}
	for _, s := range steps {
		if err := p.recover(ctx, s); err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", s.num, s.in.Keyword, err)
		}
	}
	if err := p.residual(ctx, res); err != nil {
		return nil, err
	}
	sortPlaced(p.plan.Files)
	return p.plan, nil
}

type planner struct {
	im     *layerindex.Image
	opts   Options
	plan   *Plan
	claims *claims
	// entries holds each loaded layer's entries by path (the last one at
	// a path wins; whiteouts left out).
	entries map[int]map[string]layerindex.File
	stages  map[string]string
	steps   []*step
	// workdirs are the directories WORKDIR steps made.
	workdirs map[string]bool
}

// load indexes the layers the steps read.
func (p *planner) load(ctx context.Context, steps []*step) error {
	var which []int
	seen := map[int]bool{}
	for _, s := range steps {
		if s.layer >= 0 && !seen[s.layer] {
			seen[s.layer] = true
			which = append(which, s.layer)
		}
	}
	if len(which) == 0 {
		return nil
	}
	if err := p.im.Load(ctx, which...); err != nil {
		return err
	}
	for _, l := range which {
		p.entries[l] = layerEntries(p.im.Layer(l), l)
	}
	return nil
}

// layerFor is the layer holding entry i's changes: its own, or — for
// builders that commit once (buildah without --layers, squashes) — the
// next layer up, which then holds other steps' changes too.
func layerFor(im *layerindex.Image, i int) (layer int, shared bool) {
	h := im.Image.History
	if h[i].Layer >= 0 {
		return h[i].Layer, false
	}
	for j := i + 1; j < len(h); j++ {
		if h[j].Layer >= 0 {
			return h[j].Layer, true
		}
	}
	return -1, false
}
