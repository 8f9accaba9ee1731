package diff

import (
	"strconv"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

// HistoryDiff is the two histories aligned: the steps both share (same
// instruction, and the same layer chain where a layer was made), then the
// rest matched by instruction text, as a unified diff.
type HistoryDiff struct {
	// SharedSteps is how many leading steps agree.
	SharedSteps int `json:"sharedSteps"`
	// FirstDiffering is the first step that does not; nil if none.
	FirstDiffering *Step `json:"firstDiffering,omitempty"`
	// Lines is the whole alignment, shared steps included.
	Lines []HistoryLine `json:"lines"`
}

// HistoryLine is one line of the aligned histories.
type HistoryLine struct {
	// Op is " " (in both), "-" (only in A) or "+" (only in B).
	Op   string `json:"op"`
	Text string `json:"text"`
	// StepA and StepB index each side's history; -1 where absent.
	StepA int `json:"stepA"`
	StepB int `json:"stepB"`
	// SizeA and SizeB are the sizes of the layers the step made (the blob
	// size where known, else the tar size); nil for steps without a layer.
	SizeA *int64 `json:"sizeA,omitempty"`
	SizeB *int64 `json:"sizeB,omitempty"`
	// LayerDiffers marks an instruction both sides ran that still produced
	// different layers (a rebuilt RUN, a COPY of changed files).
	LayerDiffers bool `json:"layerDiffers,omitempty"`
}

// historyDiff aligns the two histories. Steps are equal while their
// instructions agree and the layers they made lie inside the shared chain;
// past that point instructions are matched by text alone (a longest common
// subsequence), which is what a reader of two Dockerfiles expects.
func historyDiff(a, b *image.Image, shared int) HistoryDiff {
	ha, hb := a.History, b.History
	la, ka := lines(a, ha)
	lb, kb := lines(b, hb)
	var d HistoryDiff
	n := 0
	for n < len(ha) && n < len(hb) && ka[n] == kb[n] && sameLayer(ha[n].Layer, hb[n].Layer, shared) {
		n++
	}
	d.SharedSteps = n
	if n < len(ha) || n < len(hb) {
		s := &Step{Index: n}
		if n < len(la) {
			s.A = la[n]
		}
		if n < len(lb) {
			s.B = lb[n]
		}
		d.FirstDiffering = s
	}
	for i := 0; i < n; i++ {
		d.Lines = append(d.Lines, HistoryLine{Op: " ", Text: la[i], StepA: i, StepB: i,
			SizeA: layerSize(a, ha[i].Layer), SizeB: layerSize(b, hb[i].Layer)})
	}
	for _, op := range align(ka[n:], kb[n:]) {
		l := HistoryLine{Op: op.op, StepA: -1, StepB: -1}
		if op.i >= 0 {
			i := n + op.i
			l.Text, l.StepA, l.SizeA = la[i], i, layerSize(a, ha[i].Layer)
		}
		if op.j >= 0 {
			j := n + op.j
			l.Text, l.StepB, l.SizeB = lb[j], j, layerSize(b, hb[j].Layer)
		}
		if op.op == " " {
			li, lj := ha[l.StepA].Layer, hb[l.StepB].Layer
			l.LayerDiffers = (li >= 0) != (lj >= 0) ||
				li >= 0 && lj >= 0 && a.Layers[li].DiffID != b.Layers[lj].DiffID
		}
		d.Lines = append(d.Lines, l)
	}
	return d
}

// lines reads each step with the history translator: the text shown, and
// the key steps are aligned by. The key drops what builders record
// differently for the same instruction — COPY/ADD sources survive as
// names in BuildKit but as content hashes in the classic builder and
// buildah — so the same Dockerfile built two ways lines up; a COPY whose
// content changed still shows, as a step whose layer differs.
func lines(img *image.Image, h []image.HistoryEntry) (text, keys []string) {
	t := history.New(img)
	text, keys = make([]string, len(h)), make([]string, len(h))
	for i, e := range h {
		in := t.Translate(e)
		text[i] = in.Line()
		if !in.IsStep() {
			// Text no builder's format claims: the light normalisation
			// still lines up what a reader would call the same step.
			text[i] = normalize(e.CreatedBy)
		}
		keys[i] = text[i]
		if in.Keyword == "COPY" || in.Keyword == "ADD" {
			keys[i] = in.Keyword + " " + in.Dest
		}
	}
	return text, keys
}

// sameLayer: both steps made no layer, or both made the same layer of the
// shared chain.
func sameLayer(la, lb, shared int) bool {
	if la < 0 || lb < 0 {
		return la < 0 && lb < 0
	}
	return la == lb && la < shared
}

func layerSize(img *image.Image, i int) *int64 {
	if i < 0 || i >= len(img.Layers) {
		return nil
	}
	l := img.Layers[i]
	s := l.Size
	if s <= 0 {
		s = l.UncompressedSize
	}
	if s < 0 {
		return nil
	}
	return &s
}

type alignOp struct {
	op   string
	i, j int
}

// align is a longest-common-subsequence diff. Histories are a few hundred
// steps at most; past maxCells the quadratic table is not worth it and the
// remainders are reported as wholly removed and added.
func align(x, y []string) []alignOp {
	const maxCells = 4 << 20
	var out []alignOp
	if (len(x)+1)*(len(y)+1) > maxCells {
		for i := range x {
			out = append(out, alignOp{"-", i, -1})
		}
		for j := range y {
			out = append(out, alignOp{"+", -1, j})
		}
		return out
	}
	// lcs[i][j] = LCS length of x[i:], y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch {
		case x[i] == y[j]:
			out = append(out, alignOp{" ", i, j})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, alignOp{"-", i, -1})
			i++
		default:
			out = append(out, alignOp{"+", -1, j})
			j++
		}
	}
	for ; i < len(x); i++ {
		out = append(out, alignOp{"-", i, -1})
	}
	for ; j < len(y); j++ {
		out = append(out, alignOp{"+", -1, j})
	}
	return out
}

// instructions a created_by may already start with (BuildKit, buildah).
var instructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

// normalize turns a created_by into a Dockerfile-like line, enough to align
// two histories by instruction.
// Alignment uses the history translator (see lines); this lighter form is
// kept for matching LABEL steps by key.
func normalize(createdBy string) string {
	s := strings.Join(strings.Fields(createdBy), " ")
	s = strings.TrimSpace(strings.TrimSuffix(s, "# buildkit"))
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c #(nop) "); ok {
		return strings.TrimSpace(rest)
	}
	run := false
	if rest, ok := strings.CutPrefix(s, "RUN "); ok {
		s, run = rest, true
	}
	s = stripBuildArgs(s)
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c "); ok {
		return "RUN " + rest
	}
	if !run {
		if word, _, _ := strings.Cut(s, " "); instructions[word] || s == "" {
			return s
		}
	}
	// The classic builder records an exec-form RUN as the bare argv.
	return "RUN " + s
}

// stripBuildArgs removes the "|N k=v …" prefix the builders put before a
// RUN that saw build args.
func stripBuildArgs(s string) string {
	if !strings.HasPrefix(s, "|") {
		return s
	}
	fields := strings.SplitN(s[1:], " ", 2)
	n, err := strconv.Atoi(fields[0])
	if err != nil || len(fields) < 2 {
		return s
	}
	rest := fields[1]
	for k := 0; k < n; k++ {
		_, after, ok := strings.Cut(rest, " ")
		if !ok {
			return s
		}
		rest = after
	}
	return rest
}
