// Package lineage names an image's base and its whole ancestry, with the
// evidence for each step, strongest signal first: what the builder
// declared (provenance materials, base annotations, buildah's FROM comment,
// BuildKit buildinfo), then layer-chain matches against a catalog, then
// history fingerprints, which are only guesses. It is pure given a catalog
// (which may be nil) and says "unknown" rather than guess wrong.
package lineage

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
)

// Signals, strongest first.
const (
	SignalProvenance  = "provenance"       // in-toto/SLSA materials
	SignalAnnotation  = "annotation"       // org.opencontainers.image.base.*
	SignalBuildah     = "buildah-from"     // buildah's "FROM …" history comment
	SignalBuildInfo   = "buildinfo"        // moby.buildkit.buildinfo.v1
	SignalChain       = "chain"            // diff_id / blob chain match
	SignalFingerprint = "fingerprint"      // base-image history fingerprint
	SignalBoundary    = "history-boundary" // an image's end seen in history
	SignalLabel       = "label"            // base.* keys set as config labels
)

// Confidence levels.
const (
	// Verified: declared by the builder and confirmed by a chain match.
	Verified = "verified"
	// Declared: the builder wrote it down; not confirmed by content.
	Declared = "declared"
	// Matched: the layers match a catalogued image. A match, not proof:
	// BuildKit COPY --link or a rebase can produce one without FROM.
	Matched = "match"
	// Guess: read off history text.
	Guess = "guess"
)

// Material is a base image named in a provenance attestation (package
// provenance decodes them; the caller passes the image ones).
type Material struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// Input is what Resolve works from.
type Input struct {
	Image *image.Image
	// Materials are the provenance materials that are container images.
	Materials []Material
}

// Name is one catalogued (or declared) image sharing a step.
type Name struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest,omitempty"`
	Index    string `json:"index,omitempty"`
	Platform string `json:"platform,omitempty"`
	// By says which chains matched ("diff_id chain", "blob chain", both).
	By string `json:"by,omitempty"`
	// History is "same" when the catalogued image's steps open this
	// image's history exactly, "differs" when they do not, "" when unknown.
	History string `json:"history,omitempty"`
}

// Step is one ancestor.
type Step struct {
	// Names are every image the evidence points at; more than one when the
	// evidence cannot tell them apart (same layers, different tags).
	Names []Name `json:"names"`
	// Layers is how many of this image's bottom layers the ancestor
	// accounts for; 0 when unknown.
	Layers int `json:"layers"`
	// Entries is the ancestor's history length when known (where its steps
	// end in this image's history).
	Entries    int      `json:"entries,omitempty"`
	Signals    []string `json:"signals"`
	Confidence string   `json:"confidence"`
	Evidence   []string `json:"evidence"`
	// Unknown marks an ancestor that the history shows but nothing names.
	Unknown bool `json:"unknown,omitempty"`
}

// Name returns the preferred name of the step ("" when unknown).
func (s Step) Name() string {
	if len(s.Names) == 0 {
		return ""
	}
	return s.Names[0].Ref
}

// Result is the lineage of one platform image.
type Result struct {
	Image    string `json:"image"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform"`
	Layers   int    `json:"layers"`
	// Identical are catalogued images with this image's whole chain.
	Identical []Name `json:"identical,omitempty"`
	// Ancestry is nearest first.
	Ancestry []Step   `json:"ancestry"`
	Notes    []string `json:"notes,omitempty"`
}

// Base is what the Dockerfile renderer needs for its FROM line (the same
// fields as dockerfile.Base).
type Base struct {
	Name       string
	Digest     string
	Layers     int
	Entries    int
	Evidence   string
	Confidence string
}

// NoteMatchNotProof is always attached when a chain match is used.
const NoteMatchNotProof = "a chain match means this image's bottom layers are byte-identical to the catalogued image's; it is a match, not proof of FROM (BuildKit COPY --link or a rebase can produce one)"

// Resolve computes the lineage of in.Image. cat may be nil (no catalog).
func Resolve(ctx context.Context, cat catalog.Catalog, in Input) (*Result, error) {
	img := in.Image
	if img == nil {
		return nil, fmt.Errorf("lineage: no image")
	}
	n := len(img.Layers)
	r := &Result{Image: img.Reference, Digest: img.ManifestDigest, Platform: img.Platform.String(), Layers: n}

	var chainSteps []Step
	shared := 0
	if cat != nil && n > 0 {
		var err error
		if chainSteps, r.Identical, err = chainMatches(ctx, cat, img, stepsOf(img)); err != nil {
			return nil, err
		}
		if len(chainSteps) > 0 || len(r.Identical) > 0 {
			r.Notes = append(r.Notes, NoteMatchNotProof)
		}
		if shared, err = sharedDepth(ctx, cat, img); err != nil {
			return nil, err
		}
	}
	chainNearest := 0
	if len(chainSteps) > 0 {
		chainNearest = chainSteps[0].Layers
	}
	bounds := boundaries(img)
	var above []int // boundaries above the nearest catalogued ancestor
	for _, b := range bounds {
		if b > chainNearest && b < n {
			above = append(above, b)
		}
	}

	steps, direct, err := reconcile(ctx, cat, declarations(img, in.Materials), chainSteps, &r.Notes)
	if err != nil {
		return nil, err
	}
	if direct != nil && len(steps) > 0 && len(above) == 0 && (direct.Layers == 0 || direct.Layers == chainNearest) {
		// The builder named a base the catalog holds under another name or
		// digest (a registry copy re-encoded, a mirror): nothing in the
		// history marks an image between, so the declared base is taken to
		// be the one whose layers match, and both names are shown.
		s := &steps[0]
		s.Names = append(direct.Names, s.Names...)
		s.Signals = append(direct.Signals, s.Signals...)
		s.Evidence = append(direct.Evidence, s.Evidence...)
		s.Evidence = append(s.Evidence, fmt.Sprintf("%s is not catalogued under that name or digest; with no sign of another image in between, it is taken to be the matched %s", direct.Names[0].Ref, steps[0].Names[len(direct.Names)].Ref))
		direct = nil
	}
	if direct != nil {
		// The builder named the direct parent but the catalog does not
		// hold it: its size comes from buildah's record, else from the
		// topmost history boundary (a guess, and said to be one).
		if direct.Layers == 0 && len(above) > 0 {
			k := above[len(above)-1]
			direct.Layers = k
			direct.Entries = closerIndex(img, k) + 1
			direct.Evidence = append(direct.Evidence, fmt.Sprintf("its %d layers are guessed from the history: a %s step closes an image there", k, closerAt(img, k)))
			above = above[:len(above)-1]
		}
		if direct.Layers > 0 {
			above = below(above, direct.Layers)
		}
		steps = append([]Step{*direct}, steps...)
	}
	if len(steps) == 0 {
		// Nothing names any ancestor: a base fingerprint is the best left,
		// and it stands in for the boundary it explains.
		if fp, ok := fingerprint(img); ok {
			steps = append(steps, fp)
			above = without(above, fp.Layers)
		}
	}
	if shared > chainNearest && shared < n && !contains(above, shared) && (direct == nil || direct.Layers != shared) {
		above = append(above, shared)
		sort.Ints(above)
	}
	// Ancestors the history or the catalog shows but nothing names: say
	// so instead of silently skipping a generation.
	for _, k := range above {
		var sig, ev []string
		if contains(bounds, k) {
			sig = append(sig, SignalBoundary)
			ev = append(ev, fmt.Sprintf("history: an image ends after layer %d (a %s step closes it and more layers follow)", k, closerAt(img, k)))
		}
		if k == shared {
			sig = append(sig, SignalChain)
			ev = append(ev, fmt.Sprintf("catalog: another catalogued image shares exactly the first %d layers without being this image's ancestor, so a common parent of %d layers exists", k, k))
		}
		u := Step{Layers: k, Signals: sig, Confidence: Guess, Evidence: ev, Unknown: true}
		if c := closerIndex(img, k); c >= 0 {
			u.Entries = c + 1
		}
		named := false
		for _, st := range steps {
			named = named || (!st.Unknown && st.Layers > 0 && st.Layers < k)
		}
		steps = insertByLayers(steps, u)
		if named {
			r.Notes = append(r.Notes, fmt.Sprintf("an intermediate parent is unknown: the image of the first %d layers is not in the catalog and nothing names it", k))
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("an ancestor of %d layers is unknown: it is not in the catalog and nothing names it", k))
		}
	}
	if len(steps) == 0 {
		r.Notes = append(r.Notes, "base unknown: no provenance, base annotation, buildah or buildinfo record; no catalogued image matches the layers; no known base fingerprint in the history")
	}
	r.Ancestry = steps
	return r, nil
}

func without(xs []int, x int) []int {
	var out []int
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// below keeps the boundaries under k.
func below(bs []int, k int) []int {
	var out []int
	for _, b := range bs {
		if b < k {
			out = append(out, b)
		}
	}
	return out
}

// Base returns the nearest ancestor for a FROM line, ok=false when none.
func (r *Result) Base() (Base, bool) {
	for _, s := range r.Ancestry {
		if s.Unknown {
			// The nearest ancestor is nameless: FROM must name something,
			// so fall through to the nearest named one, and say so.
			continue
		}
		b := Base{Name: s.Name(), Layers: s.Layers, Entries: s.Entries, Confidence: s.Confidence}
		if len(s.Names) > 0 {
			b.Digest = s.Names[0].Digest
			if s.Names[0].Index != "" {
				b.Digest = s.Names[0].Index
			}
		}
		ev := fmt.Sprintf("%s (%s)", strings.Join(s.Evidence, "; "), s.Confidence)
		if len(s.Names) > 1 {
			var others []string
			for _, n := range s.Names[1:] {
				others = append(others, n.Ref)
			}
			ev += "; equally matched: " + strings.Join(others, ", ")
		}
		if r.Ancestry[0].Unknown {
			ev += fmt.Sprintf("; an unnamed intermediate parent of %d layers sits between", r.Ancestry[0].Layers)
		}
		b.Evidence = ev
		return b, true
	}
	return Base{}, false
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// insertByLayers keeps the ancestry ordered nearest (most layers) first.
// A step of unknown size (0 layers) is a declared direct parent whose
// size nothing tells, so it stays nearest.
func insertByLayers(steps []Step, s Step) []Step {
	key := func(st Step) int {
		if st.Layers == 0 {
			return math.MaxInt
		}
		return st.Layers
	}
	steps = append(steps, s)
	sort.SliceStable(steps, func(i, j int) bool { return key(steps[i]) > key(steps[j]) })
	return steps
}

// stepsOf lists created_by of every history entry.
func stepsOf(img *image.Image) []string {
	out := make([]string, len(img.History))
	for i, h := range img.History {
		out[i] = h.CreatedBy
	}
	return out
}
