package diff

import (
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

// HistoryLine is one line of the aligned histories. Texts are the history
// translator's one-line reading of a step, the text `strata layers` shows.
type HistoryLine struct {
	// Op is " " (in both), "-" (only in A) or "+" (only in B).
	Op string `json:"op"`
	// Text is A's instruction, or B's on a "+" line.
	Text string `json:"text"`
	// TextB is B's instruction on a " " line where the builders recorded
	// the same instruction differently (a COPY's sources as names in one
	// history, as a content hash in the other).
	TextB string `json:"textB,omitempty"`
	// StepA and StepB are each side's 1-based step number, as `strata
	// layers` numbers them; 0 (omitted) where the side has no such step.
	StepA int `json:"stepA,omitempty"`
	StepB int `json:"stepB,omitempty"`
	// SizeA and SizeB are the sizes of the layers the step made; nil for
	// steps without a layer or of unknown size. SizeKindA and SizeKindB say
	// what each is: "uncompressed" (the tar) or "compressed" (the blob as
	// stored). Both sides are of one kind wherever the images allow it.
	SizeA     *int64 `json:"sizeA,omitempty"`
	SizeB     *int64 `json:"sizeB,omitempty"`
	SizeKindA string `json:"sizeKindA,omitempty"`
	SizeKindB string `json:"sizeKindB,omitempty"`
	// LayerDiffers marks an instruction both sides ran that still produced
	// different layers (a rebuilt RUN, a COPY of changed files).
	LayerDiffers bool `json:"layerDiffers,omitempty"`
	// layerA and layerB: the step made a layer (its size may be unknown).
	layerA, layerB bool
}

// side is one image's history as diff reads it: each step's text (the
// translator's line) and the key steps are aligned by.
type side struct {
	text, keys []string
}

// historyDiff aligns the two histories. Steps are equal while their
// instructions agree and the layers they made lie inside the shared chain;
// past that point instructions are matched by text alone (a longest common
// subsequence), which is what a reader of two Dockerfiles expects.
func historyDiff(a, b *image.Image, shared int) HistoryDiff {
	sa, sb := readSide(a), readSide(b)
	ha, hb := a.History, b.History
	sizes := newSizer(a, b)
	var d HistoryDiff
	n := 0
	for n < len(ha) && n < len(hb) && sa.keys[n] == sb.keys[n] && sameLayer(ha[n].Layer, hb[n].Layer, shared) {
		n++
	}
	d.SharedSteps = n
	if n < len(ha) || n < len(hb) {
		s := &Step{Step: n + 1}
		if n < len(ha) {
			s.A = sa.text[n]
		}
		if n < len(hb) {
			s.B = sb.text[n]
		}
		s.SameInstruction = n < len(ha) && n < len(hb) && sa.keys[n] == sb.keys[n]
		d.FirstDiffering = s
	}
	for i := 0; i < n; i++ {
		l := HistoryLine{Op: " ", StepA: i + 1, StepB: i + 1, layerA: ha[i].Layer >= 0, layerB: hb[i].Layer >= 0}
		l.Text, l.TextB = sa.text[i], textB(sa.text[i], sb.text[i])
		l.SizeA, l.SizeB, l.SizeKindA, l.SizeKindB = sizes.pair(ha[i].Layer, hb[i].Layer)
		d.Lines = append(d.Lines, l)
	}
	for _, op := range align(sa.keys[n:], sb.keys[n:]) {
		l := HistoryLine{Op: op.op}
		li, lj := -1, -1
		if op.i >= 0 {
			i := n + op.i
			l.Text, l.StepA, li = sa.text[i], i+1, ha[i].Layer
		}
		if op.j >= 0 {
			j := n + op.j
			l.StepB, lj = j+1, hb[j].Layer
			if op.i >= 0 {
				l.TextB = textB(l.Text, sb.text[j])
			} else {
				l.Text = sb.text[j]
			}
		}
		l.SizeA, l.SizeB, l.SizeKindA, l.SizeKindB = sizes.pair(li, lj)
		l.layerA, l.layerB = li >= 0, lj >= 0
		if op.op == " " {
			l.LayerDiffers = (li >= 0) != (lj >= 0) ||
				li >= 0 && lj >= 0 && a.Layers[li].DiffID != b.Layers[lj].DiffID
		}
		d.Lines = append(d.Lines, l)
	}
	return d
}

func textB(a, b string) string {
	if a == b {
		return ""
	}
	return b
}

// readSide reads each step with the history translator: the text shown —
// the one every verb shows — and the key steps are aligned by. The key
// drops what builders record differently for the same instruction —
// COPY/ADD sources survive as names in BuildKit but as content hashes in
// the classic builder and buildah — so the same Dockerfile built two ways
// lines up; a COPY whose content changed still shows, as a step whose
// layer differs.
func readSide(img *image.Image) side {
	ins := history.TranslateAll(img)
	s := side{text: make([]string, len(ins)), keys: make([]string, len(ins))}
	for i, in := range ins {
		s.text[i] = in.Line()
		s.keys[i] = s.text[i]
		if in.Keyword == "COPY" || in.Keyword == "ADD" {
			s.keys[i] = in.Keyword + " " + in.Dest
		}
	}
	return s
}

// sameLayer: both steps made no layer, or both made the same layer of the
// shared chain.
func sameLayer(la, lb, shared int) bool {
	if la < 0 || lb < 0 {
		return la < 0 && lb < 0
	}
	return la == lb && la < shared
}

// Size kinds.
const (
	Uncompressed = "uncompressed"
	Compressed   = "compressed"
)

// sizer knows each layer's sizes: the tar's and the compressed blob's. A
// layer's tar size is also known when the other image holds the same tar
// (the same diff_id) and knows its size.
type sizer struct {
	a, b *image.Image
	tars map[string]int64
}

func newSizer(a, b *image.Image) sizer {
	s := sizer{a: a, b: b, tars: map[string]int64{}}
	for _, img := range []*image.Image{a, b} {
		for _, l := range img.Layers {
			if t := tarSize(l); t >= 0 && l.DiffID != "" {
				s.tars[l.DiffID] = t
			}
		}
	}
	return s
}

// tarSize is the layer's uncompressed size as its own image knows it.
func tarSize(l image.Layer) int64 {
	if l.UncompressedSize >= 0 {
		return l.UncompressedSize
	}
	if compressionOf(l.MediaType) == "uncompressed" && l.Size >= 0 {
		return l.Size // the blob is the tar
	}
	return -1
}

// sizes returns layer i's tar and compressed sizes, -1 where unknown.
func (s sizer) sizes(img *image.Image, i int) (tar, compressed int64) {
	l := img.Layers[i]
	tar, compressed = tarSize(l), -1
	if t, ok := s.tars[l.DiffID]; ok && tar < 0 && l.DiffID != "" {
		tar = t
	}
	if c := compressionOf(l.MediaType); c != "uncompressed" && l.Size > 0 && l.Size != l.UncompressedSize {
		compressed = l.Size
	}
	return tar, compressed
}

// pair picks the sizes shown for A's layer i and B's layer j (-1: none):
// tar sizes where both are known, else compressed sizes where both are,
// else each side's own, labelled.
func (s sizer) pair(i, j int) (sa, sb *int64, ka, kb string) {
	ta, ca, tb, cb := int64(-1), int64(-1), int64(-1), int64(-1)
	if i >= 0 && i < len(s.a.Layers) {
		ta, ca = s.sizes(s.a, i)
	}
	if j >= 0 && j < len(s.b.Layers) {
		tb, cb = s.sizes(s.b, j)
	}
	switch {
	case ta >= 0 && tb >= 0:
		return &ta, &tb, Uncompressed, Uncompressed
	case ca >= 0 && cb >= 0:
		return &ca, &cb, Compressed, Compressed
	}
	sa, ka = own(ta, ca)
	sb, kb = own(tb, cb)
	return sa, sb, ka, kb
}

func own(tar, compressed int64) (*int64, string) {
	switch {
	case tar >= 0:
		return &tar, Uncompressed
	case compressed >= 0:
		return &compressed, Compressed
	}
	return nil, ""
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
