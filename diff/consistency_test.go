package diff_test

// Regression tests for what diff says about history, on real builders'
// images: one instruction text (the translator's, as `strata layers` shows
// it), one step numbering (1-based, as `strata layers` numbers them), and
// layer sizes compared like with like. The result is read through its JSON,
// the shape README documents.

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// builtRef finds the ref of a built image under a transport label.
func builtRef(t *testing.T, name, builder, transport string) string {
	t.Helper()
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == name && b.Builder == builder {
			if ref, ok := b.Refs[transport]; ok {
				return ref
			}
		}
	}
	t.Fatalf("images.json has no %s image by %s stored as %s", name, builder, transport)
	return ""
}

type jsonStep struct {
	Step            int    `json:"step"`
	A               string `json:"a"`
	B               string `json:"b"`
	SameInstruction bool   `json:"sameInstruction"`
}

type jsonLine struct {
	Op           string `json:"op"`
	Text         string `json:"text"`
	TextB        string `json:"textB"`
	StepA        int    `json:"stepA"`
	StepB        int    `json:"stepB"`
	SizeA        *int64 `json:"sizeA"`
	SizeB        *int64 `json:"sizeB"`
	SizeKindA    string `json:"sizeKindA"`
	SizeKindB    string `json:"sizeKindB"`
	LayerDiffers bool   `json:"layerDiffers"`
}

type jsonResult struct {
	FirstDifferingStep *jsonStep `json:"firstDifferingStep"`
	History            struct {
		Lines []jsonLine `json:"lines"`
	} `json:"history"`
}

func resultJSON(t *testing.T, r *diff.Result) jsonResult {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out jsonResult
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// stepLines is what `strata layers` prints for each step, indexed by the
// 1-based step number.
func stepLines(img *image.Image) map[int]string {
	out := map[int]string{}
	for i, in := range history.TranslateAll(img) {
		out[i+1] = in.Line()
	}
	return out
}

// TestHistoryTextIsTheTranslators: every text diff shows for a step is the
// translator's line for it — the text `strata layers` shows under that step
// number — on both sides, in the aligned lines and in the first differing
// step; a first differing step that the alignment shows as one instruction
// (with a different layer) says so.
func TestHistoryTextIsTheTranslators(t *testing.T) {
	pairs := []struct{ name, a, b string }{
		// Bazel's rules_docker: not a Dockerfile step on either side.
		{"bazel", filepath.Join(testenv.Fixtures(t), "images", "ggcr", "tarball", "test_image_1.tar"),
			filepath.Join(testenv.Fixtures(t), "images", "ggcr", "tarball", "test_image_2.tar")},
		// One Dockerfile, two builders: `COPY file:…` and `COPY busybox`.
		{"classic vs buildkit parent", builtRef(t, "parent", "classic", "docker-archive"), builtRef(t, "parent", "buildkit", "buildkit-oci-archive")},
		// The classic builder's HEALTHCHECK %q dump and BuildKit's %+v dump.
		{"classic vs buildkit single", builtRef(t, "single", "classic", "docker-archive"), builtRef(t, "single", "buildkit", "buildkit-oci-archive")},
		{"classic vs podman single", builtRef(t, "single", "classic", "registry"), builtRef(t, "single", "podman", "registry")},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			a, b := openWith(t, p.a, source.Options{Insecure: true}).Image(), openWith(t, p.b, source.Options{Insecure: true}).Image()
			la, lb := stepLines(a), stepLines(b)
			r := resultJSON(t, diff.Images(a, b, diff.Options{}))
			if len(r.History.Lines) == 0 {
				t.Fatal("no history lines")
			}
			var first *jsonLine
			for i, l := range r.History.Lines {
				wantA, wantB := la[l.StepA], lb[l.StepB]
				switch l.Op {
				case "-":
					if l.StepA == 0 || l.StepB != 0 || l.Text != wantA {
						t.Errorf("line %d %+v: want A's step %d as layers shows it, %q", i, l, l.StepA, wantA)
					}
				case "+":
					if l.StepB == 0 || l.StepA != 0 || l.Text != wantB {
						t.Errorf("line %d %+v: want B's step %d as layers shows it, %q", i, l, l.StepB, wantB)
					}
				case " ":
					gotB := l.TextB
					if gotB == "" {
						gotB = l.Text
					}
					if l.StepA == 0 || l.StepB == 0 || l.Text != wantA || gotB != wantB {
						t.Errorf("line %d %+v: want A's step %d %q and B's step %d %q", i, l, l.StepA, wantA, l.StepB, wantB)
					}
				}
				if l.Op == " " && strings.HasPrefix(l.Text, "HEALTHCHECK") != strings.HasPrefix(wantB, "HEALTHCHECK") {
					t.Errorf("line %d pairs a HEALTHCHECK with another instruction: %+v", i, l)
				}
				if l.Op != " " && strings.HasPrefix(l.Text, "HEALTHCHECK") {
					t.Errorf("the same HEALTHCHECK instruction reads differently per builder: %+v", l)
				}
				if f := r.FirstDifferingStep; f != nil && (l.StepA == f.Step || l.StepB == f.Step) && first == nil {
					first = &r.History.Lines[i]
				}
			}
			f := r.FirstDifferingStep
			if f == nil {
				t.Fatal("no first differing step")
			}
			if f.A != la[f.Step] || f.B != lb[f.Step] {
				t.Errorf("first differing step %+v: want A %q, B %q (step %d as layers shows it)", f, la[f.Step], lb[f.Step], f.Step)
			}
			if first != nil && first.Op == " " && first.StepA == f.Step && first.StepB == f.Step && !f.SameInstruction {
				t.Errorf("step %d is reported first as differing (%q vs %q), then aligned as one instruction %+v, and the first report does not say so", f.Step, f.A, f.B, *first)
			}
		})
	}
}

// TestStepNumbersAreLayersSteps: the child built FROM its parent diverges at
// the child's first own step, numbered as `strata layers` numbers it.
func TestStepNumbersAreLayersSteps(t *testing.T) {
	pi := open(t, builtRef(t, "parent", "classic", "registry")).Image()
	ci := open(t, builtRef(t, "child", "classic", "registry")).Image()
	r := resultJSON(t, diff.Images(pi, ci, diff.Options{}))
	own := len(pi.History) + 1 // the child's first own step, 1-based
	if r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != own {
		t.Fatalf("first differing step %+v, want step %d", r.FirstDifferingStep, own)
	}
	lines := stepLines(ci)
	found := false
	for _, l := range r.History.Lines {
		if l.Op == "+" && l.StepB == own {
			found = l.Text == lines[own]
		}
		if l.Op == " " && (l.StepA < 1 || l.StepB < 1) {
			t.Errorf("a shared step numbered from 0: %+v", l)
		}
	}
	if !found {
		t.Errorf("no added line for B's step %d (%q): %+v", own, lines[own], r.History.Lines)
	}
}

// TestLayerSizesLikeWithLike: a classic docker save stores layers as plain
// tars, a BuildKit tarball and a registry as gzip blobs. Every size diff
// shows is labelled, and is what the label says: the layer's tar size
// (counted here by streaming it), or the size of a compressed blob. Where
// both sides hold the same layer (same diff_id) both sizes are the same.
func TestLayerSizesLikeWithLike(t *testing.T) {
	pairs := []struct{ name, a, b string }{
		{"classic save vs BuildKit tar", builtRef(t, "single", "classic", "docker-archive"), builtRef(t, "single", "buildkit", "buildkit-oci-archive")},
		{"classic save vs registry child", builtRef(t, "parent", "classic", "docker-archive"), builtRef(t, "child", "classic", "registry")},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			sa, sb := open(t, p.a), open(t, p.b)
			a, b := sa.Image(), sb.Image()
			r := resultJSON(t, diff.Images(a, b, diff.Options{}))
			sized := 0
			for _, l := range r.History.Lines {
				checkSize(t, "A", sa, a, l.StepA, l.SizeA, l.SizeKindA)
				checkSize(t, "B", sb, b, l.StepB, l.SizeB, l.SizeKindB)
				if l.SizeA != nil && l.SizeB != nil {
					sized++
					la, lb := layerOf(a, l.StepA), layerOf(b, l.StepB)
					if la < 0 || lb < 0 {
						continue // reported by checkSize
					}
					if a.Layers[la].DiffID == b.Layers[lb].DiffID && (*l.SizeA != *l.SizeB || l.SizeKindA != "uncompressed" || l.SizeKindB != "uncompressed") {
						t.Errorf("the same layer %s: %d %s vs %d %s", a.Layers[la].DiffID, *l.SizeA, l.SizeKindA, *l.SizeB, l.SizeKindB)
					}
				}
			}
			if sized == 0 {
				t.Fatal("no line compares two layer sizes")
			}
		})
	}
}

// layerOf is the layer 1-based step made, or -1.
func layerOf(img *image.Image, step int) int {
	if step < 1 || step > len(img.History) {
		return -1
	}
	return img.History[step-1].Layer
}

func checkSize(t *testing.T, side string, src source.Source, img *image.Image, step int, size *int64, kind string) {
	t.Helper()
	if size == nil {
		return
	}
	li := layerOf(img, step)
	if li < 0 {
		t.Errorf("%s: a size for step %d, which made no layer", side, step)
		return
	}
	l := img.Layers[li]
	switch kind {
	case "uncompressed":
		rc, err := src.OpenLayer(context.Background(), li)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if *size != n {
			t.Errorf("%s step %d: %d bytes called uncompressed, the tar has %d", side, step, *size, n)
		}
	case "compressed":
		if *size != l.Size || !(strings.HasSuffix(l.MediaType, "gzip") || strings.HasSuffix(l.MediaType, "zstd")) {
			t.Errorf("%s step %d: %d bytes called compressed; the blob is %d bytes of %s", side, step, *size, l.Size, l.MediaType)
		}
	default:
		t.Errorf("%s step %d: size %d without a kind (%q)", side, step, *size, kind)
	}
}
