// Package dockerfile turns an image's history and config into Dockerfile
// text: the order of steps from the history (read by package history), the
// final values from the config, a FROM line chosen from the evidence the
// image carries, and a short # comment wherever something was guessed or
// lost. Every Dockerfile it emits parses with BuildKit's own parser.
package dockerfile

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/lineage"
)

// Options control rendering.
type Options struct {
	// Base is the lineage answer for the FROM line (lineage.Resolve with
	// the catalog and provenance); nil reads lineage from the image alone.
	Base *lineage.Base
	// Layers annotates each instruction with the layer it made.
	Layers bool
	// Recovered is what the layers tell about steps, by history entry
	// index (package buildcontext; strata dockerfile --deep/--context).
	Recovered map[int]Recovered
}

// Result is a rendered Dockerfile with one record per history entry.
type Result struct {
	Text    string   `json:"dockerfile"`
	From    From     `json:"from"`
	Records []Record `json:"history"`
	// Notes are remarks for the user beyond the # comments in Text.
	Notes []string `json:"notes,omitempty"`
}

// From says what the FROM line is and why: the lineage answer it came
// from, and what was folded away below it.
type From struct {
	Ref string `json:"ref"`
	// Kind (in Base): "base" (a named image), "scratch" (the image
	// starts from an empty file system), "unidentified" (placeholder
	// scratch), "provenance" (the Dockerfile recorded in the image).
	lineage.Base
	// FoldedEntries / FoldedLayers are the base's history entries and
	// layers left out below FROM.
	FoldedEntries int `json:"foldedEntries"`
	FoldedLayers  int `json:"foldedLayers"`
}

// Record is one history entry with how strata read it.
type Record struct {
	// Step is the entry's 1-based step number, as `strata layers` shows.
	Step int `json:"step"`
	// Line is the translator's one-line reading, the text `strata layers`
	// and `strata diff` show for this step.
	Line       string      `json:"line"`
	CreatedBy  string      `json:"created_by"`
	Comment    string      `json:"comment,omitempty"`
	Author     string      `json:"author,omitempty"`
	EmptyLayer bool        `json:"empty_layer,omitempty"`
	Layer      *LayerRef   `json:"layer,omitempty"`
	InBase     bool        `json:"inBase,omitempty"`
	Builder    string      `json:"builder"`
	Parsed     Instruction `json:"instruction"`
	Confidence string      `json:"confidence"`
	// Dockerfile is the text this entry rendered to (empty when folded
	// into FROM).
	Dockerfile string `json:"dockerfile,omitempty"`
}

// Instruction is the parsed form carried in JSON records.
type Instruction = history.Instruction

// LayerRef identifies the layer an entry produced.
type LayerRef struct {
	Index  int    `json:"index"`
	Digest string `json:"digest,omitempty"`
	DiffID string `json:"diffID,omitempty"`
	Size   int64  `json:"size"`
}

// emptyDiffID is the diff_id of the 32-byte empty layer BuildKit commits for
// WORKDIR and no-op RUNs.
const emptyDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// Render reconstructs the Dockerfile of img.
func Render(img *image.Image, opts Options) *Result {
	ins := history.TranslateAll(img)
	r := &renderer{img: img, ins: ins, opts: opts, sets: map[string]map[int][]string{}}
	return r.render()
}

type renderer struct {
	img  *image.Image
	ins  []history.Instruction
	opts Options

	b     bytes.Buffer
	from  From
	start int // first history entry rendered below FROM
	shell []string
	// last[kw] is the index of the last entry of a config-valued keyword.
	last map[string]int
	// lastEnv/lastLabel map a key to the last entry setting it.
	lastEnv, lastLabel map[string]int
	argDeclared        map[string]bool
	// env is the config's Env as a map; sets the share of the config's
	// EXPOSE/VOLUME set per entry; argUse the usedArg answers. Each is
	// built once: per entry, they made rendering quadratic.
	env    map[string]string
	sets   map[string]map[int][]string
	argUse map[argAt]string
	// nodes counts the instructions the guarded steps hold.
	nodes int
	// implied counts the ARG lines the entry being rendered declared
	// for the build args its RUN recorded; at is that entry's index.
	implied, at int
	// before holds, for images kaniko built, the last entry of each
	// keyword below kaniko's first entry (see scan).
	before    map[string]history.Instruction
	beforeEnv map[string]string
	notes     []string
}

func (r *renderer) render() *Result {
	img := r.img
	r.shell = defaultShell(img)
	r.chooseFrom()
	r.scan()

	fmt.Fprintf(&r.b, "# Dockerfile reconstructed by strata from %s\n", oneLine(refOf(img)))
	r.line("# order from the image history, final values from the image config; # notes mark what was guessed or lost")
	if img.PairingProblem != "" {
		r.line("# NOTE: " + oneLine(img.PairingProblem))
	}
	for _, c := range r.fromComments() {
		r.longComment(c)
	}
	r.fromLine()
	r.prelude()

	recs := make([]Record, len(img.History))
	r.argDeclared = map[string]bool{}
	for i, h := range img.History {
		in := r.ins[i]
		rec := r.record(i, h)
		if i < r.start {
			r.track(i, in)
			recs[i] = rec
			continue
		}
		before := r.b.Len()
		if r.opts.Layers {
			r.layerNote(h)
		}
		r.implied, r.at = 0, i
		r.entry(i, in, h)
		r.guard(before, r.stands(in, h), r.implied, in.Raw)
		// Only this entry's text is copied: copying the whole buffer per
		// entry made memory grow with the square of the history.
		rec.Dockerfile = strings.TrimSuffix(string(r.b.Bytes()[before:]), "\n")
		recs[i] = rec
	}
	r.configOnly()
	res := &Result{Text: r.b.String(), From: r.from, Records: recs, Notes: r.notes}
	if err := checkWhole(res.Text, 1+r.nodes); err != nil {
		res.Notes = append(res.Notes, "a strata bug, please report: "+err.Error())
	}
	return res
}

// Prelude is the key of Options.Recovered for a COPY written right below
// FROM: files no step of the history accounts for (a squash dropped the
// steps that made them), recovered from the layers.
const Prelude = -1

func (r *renderer) prelude() {
	rec, ok := r.opts.Recovered[Prelude]
	if !ok || len(rec.Sources) == 0 || rec.Dest == "" {
		return
	}
	before := r.b.Len()
	r.recoveredNotes(rec)
	r.line("COPY " + r.flags(history.Instruction{Keyword: "COPY", Flags: rec.Flags}) + pathArgs(rec.Sources, rec.Dest))
	r.guard(before, "COPY", 0, "COPY "+strings.Join(rec.Sources, " ")+" "+rec.Dest)
}

// Outline is Render without the text: the FROM answer and one record per
// history entry (Dockerfile fields empty), for callers that need to know
// which steps fall below FROM and how each was read (package
// buildcontext) before rendering with what they found.
func Outline(img *image.Image, opts Options) *Result {
	r := &renderer{img: img, ins: history.TranslateAll(img), opts: opts}
	r.chooseFrom()
	recs := make([]Record, len(img.History))
	for i, h := range img.History {
		recs[i] = r.record(i, h)
	}
	return &Result{From: r.from, Records: recs}
}

// record is entry i as read, without its Dockerfile text.
func (r *renderer) record(i int, h image.HistoryEntry) Record {
	in := r.ins[i]
	rec := Record{Step: i + 1, Line: in.Line(), CreatedBy: h.CreatedBy, Comment: h.Comment, Author: h.Author, EmptyLayer: h.EmptyLayer,
		Builder: string(in.Builder), Parsed: in, Confidence: string(in.Confidence), InBase: i < r.start}
	if h.Layer >= 0 && h.Layer < len(r.img.Layers) {
		l := r.img.Layers[h.Layer]
		rec.Layer = &LayerRef{Index: h.Layer, Digest: l.Digest, DiffID: l.DiffID, Size: l.Size}
	}
	return rec
}

// line writes one line of the Dockerfile. An instruction on one line that
// is too long for BuildKit's parser is broken with continuations
// (fitLine); a heredoc or a comment never is (comments are cut to 300
// bytes or wrapped where they are made).
func (r *renderer) line(s string) {
	if len(s) > maxLine && !strings.HasPrefix(s, "#") && !strings.Contains(s, "\n") {
		s = fitLine(s)
	}
	r.b.WriteString(s)
	r.b.WriteByte('\n')
}

// guard is the last line of defence for "every Dockerfile strata prints
// parses, and holds exactly the instructions the history does": the text
// written since offset must parse on its own to the implied ARG
// declarations and at most one instruction, the keyword kw ("" for none:
// a comment), and nothing in it may run on into the text after it. A
// value that slipped past the quoting rules — image text with a line
// break that reads as a second instruction, say — makes the step a
// comment instead.
func (r *renderer) guard(offset int, kw string, implied int, raw string) {
	// Read in place: a 12 MB RUN is not copied to be checked.
	chunk := r.b.Bytes()[offset:]
	if len(bytes.TrimSpace(chunk)) == 0 {
		return
	}
	n, err := checkChunk(chunk, kw, implied)
	if err == nil {
		r.nodes += n
		return
	}
	r.b.Truncate(offset)
	r.line("# strata could not write this step as valid Dockerfile syntax: " + oneLine(raw))
}

// stands names the one instruction an entry may render to: its keyword
// for a Dockerfile step, ADD for the stand-in of a root file system layer,
// none for anything else.
func (r *renderer) stands(in history.Instruction, h image.HistoryEntry) string {
	switch {
	case in.IsStep():
		if rec, ok := r.opts.Recovered[r.at]; ok && rec.Keyword != "" {
			return rec.Keyword
		}
		return in.Keyword
	case h.Layer == 0 && r.from.Kind == "scratch" && (in.Builder == history.BaseRootFS || in.Builder == history.Apko):
		return "ADD"
	}
	return ""
}

// fromLine writes FROM with the lineage answer. The name can come from
// image text (an annotation, buildah's comment): one that is not a single
// plain word is no reference, and FROM scratch stands in for it.
func (r *renderer) fromLine() {
	ref := r.from.Ref
	if ref == "" || !oneLineText(ref) || strings.ContainsAny(ref, " \t\\\"'") {
		r.line("# the base is named " + oneLine(ref) + ", which is no image reference; FROM scratch is a placeholder")
		ref = "scratch"
	}
	r.line("FROM " + ref)
}

func refOf(img *image.Image) string {
	s := img.Reference
	if s == "" {
		s = "an image"
	}
	if p := img.Platform.String(); p != "/" {
		s += " (" + p + ")"
	}
	return s
}

func defaultShell(img *image.Image) []string {
	if strings.EqualFold(img.Config.OS, "windows") || strings.EqualFold(img.Platform.OS, "windows") {
		return []string{"cmd", "/S", "/C"}
	}
	return []string{"/bin/sh", "-c"}
}

// scan finds, among all entries, the last one of each config-valued
// keyword and the last one setting each ENV/LABEL key: those print the
// config's value, earlier ones the history's.
func (r *renderer) scan() {
	r.last = map[string]int{}
	r.lastEnv = map[string]int{}
	r.lastLabel = map[string]int{}
	r.before = map[string]history.Instruction{}
	r.beforeEnv = map[string]string{}
	// kaniko writes no entries for metadata steps: a CMD or ENV entry
	// below its first entry belongs to the base, and the config's value
	// may come from a step the history does not show. Such entries keep
	// their history value; the config's goes at the end if it differs.
	cut := 0
	for i, in := range r.ins {
		if in.Builder == history.Kaniko {
			cut = i
			break
		}
	}
	for i, in := range r.ins {
		if i < cut {
			if in.Keyword != "" {
				r.before[in.Keyword] = in
			}
			for _, p := range in.Pairs {
				if in.Keyword == "ENV" {
					r.beforeEnv[p.Key] = p.Value
				}
			}
			continue
		}
		switch in.Keyword {
		case "ENV":
			for _, p := range in.Pairs {
				r.lastEnv[p.Key] = i
			}
		case "LABEL":
			for _, p := range in.Pairs {
				r.lastLabel[p.Key] = i
			}
		}
		if in.Keyword != "" {
			r.last[in.Keyword] = i
		}
	}
}

// track follows the shell through folded base entries.
func (r *renderer) track(i int, in history.Instruction) {
	if in.Keyword != "SHELL" || len(in.Argv) == 0 {
		return
	}
	r.shell = in.Argv
	if r.last["SHELL"] == i && len(r.img.Config.Config.Shell) > 0 {
		r.shell = r.img.Config.Config.Shell
	}
}

func (r *renderer) layerNote(h image.HistoryEntry) {
	if h.Layer < 0 || h.Layer >= len(r.img.Layers) {
		return
	}
	l := r.img.Layers[h.Layer]
	d := l.Digest
	if d == "" {
		d = l.DiffID
	}
	if len(d) > 19 {
		d = d[:19] + "…"
	}
	size := humanSize(l.Size)
	if l.DiffID == emptyDiffID {
		size = "empty layer"
	}
	r.line(fmt.Sprintf("# layer %d: %s, %s", h.Layer, size, oneLine(d)))
}
