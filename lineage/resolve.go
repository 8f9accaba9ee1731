package lineage

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

// resolver carries one Resolve call's state between its phases.
type resolver struct {
	ctx context.Context
	cat catalog.Catalog
	img *image.Image
	ins []history.Instruction
	r   *Result

	chainSteps []Step
	// chainNearest is the layer count of the nearest catalogued ancestor;
	// shared how many bottom layers any catalogued image shares.
	chainNearest, shared int
	// bounds are the layer counts where the history shows an image ending;
	// above those over the nearest catalogued ancestor, not yet explained.
	bounds, above []int
	// declaredScratch is the evidence of records saying FROM scratch.
	declaredScratch []string
}

func newResolver(ctx context.Context, cat catalog.Catalog, img *image.Image) *resolver {
	return &resolver{
		ctx: ctx, cat: cat, img: img,
		ins: history.TranslateAll(img),
		r: &Result{Image: img.Reference, Digest: img.ManifestDigest, Platform: img.Platform.String(),
			Layers: len(img.Layers), Ancestry: []Step{}},
	}
}

// matchChains looks the image's layer chains up in the catalog and lists
// the history boundaries no catalogued ancestor explains.
func (rs *resolver) matchChains() error {
	n := len(rs.img.Layers)
	if rs.cat != nil && n > 0 {
		var err error
		if rs.chainSteps, rs.r.Identical, err = chainMatches(rs.ctx, rs.cat, rs.img, stepsOf(rs.img)); err != nil {
			return err
		}
		if len(rs.chainSteps) > 0 || len(rs.r.Identical) > 0 {
			rs.r.Notes = append(rs.r.Notes, NoteMatchNotProof)
		}
		if rs.shared, err = sharedDepth(rs.ctx, rs.cat, rs.img); err != nil {
			return err
		}
	}
	if len(rs.chainSteps) > 0 {
		rs.chainNearest = rs.chainSteps[0].Layers
	}
	rs.bounds = boundaries(rs.img)
	for _, b := range rs.bounds {
		if b > rs.chainNearest && b < n {
			rs.above = append(rs.above, b)
		}
	}
	return nil
}

// placeDirect puts the declared direct parent (one the catalog does not
// hold under its name) into the ancestry, sized as well as the image
// allows.
func (rs *resolver) placeDirect(steps []Step, direct *Step) []Step {
	if direct == nil {
		return steps
	}
	if len(steps) > 0 && len(rs.above) == 0 && (direct.Layers == 0 || direct.Layers == rs.chainNearest) {
		// The builder named a base the catalog holds under another name or
		// digest (a registry copy re-encoded, a mirror): nothing in the
		// history marks an image between, so the declared base is taken to
		// be the one whose layers match, and both names are shown.
		s := &steps[0]
		matched := s.Names[0].Ref
		s.Names = append(direct.Names, s.Names...)
		s.Signals = append(direct.Signals, s.Signals...)
		s.Evidence = append(direct.Evidence, s.Evidence...)
		s.Evidence = append(s.Evidence, fmt.Sprintf("%s is not catalogued under that name or digest; with no sign of another image in between, it is taken to be the matched %s", direct.Names[0].Ref, matched))
		s.Caveats = append(s.Caveats, direct.Caveats...)
		s.claimed, s.claimedBy = direct.claimed, direct.claimedBy
		return steps
	}
	if direct.Boundary == "" {
		rs.sizeDirect(direct)
	}
	if direct.Layers > 0 {
		rs.above = below(rs.above, direct.Layers)
	}
	return append([]Step{*direct}, steps...)
}

// sizeDirect finds where a declared parent the catalog does not hold ends
// when its declaration does not say: ko's own entries, else the topmost
// history boundary (a guess, and said to be one).
func (rs *resolver) sizeDirect(d *Step) {
	if k := firstBuilder(rs.ins, history.Ko); k > 0 {
		d.Entries, d.Layers, d.Boundary = k, layersBefore(rs.img, k), BoundaryExact
		d.Evidence = append(d.Evidence, fmt.Sprintf("ko writes history only for the layers it adds: its steps start at step %d, so %s the base's", k+1, stepsBefore(k)))
		return
	}
	if len(rs.above) > 0 {
		k := rs.above[len(rs.above)-1]
		d.Layers = k
		d.Entries = closerIndex(rs.img, k) + 1
		d.Boundary = BoundaryGuessed
		d.Evidence = append(d.Evidence, fmt.Sprintf("its %d layers are guessed from the history: a %s step (step %d) closes an image there and more layers follow", k, closerAt(rs.img, k), d.Entries))
		rs.above = rs.above[:len(rs.above)-1]
	}
}

// addFingerprint: when nothing names any ancestor, a base fingerprint is
// the best left, and it stands in for the boundary it explains.
func (rs *resolver) addFingerprint(steps []Step) []Step {
	if len(steps) > 0 {
		return steps
	}
	fp, ok := fingerprint(rs.img)
	if !ok {
		return steps
	}
	rs.above = without(rs.above, fp.Layers)
	return append(steps, fp)
}

// addUnnamed reports ancestors the history or the catalog shows but
// nothing names, instead of silently skipping a generation.
func (rs *resolver) addUnnamed(steps []Step) []Step {
	n := len(rs.img.Layers)
	if rs.shared > rs.chainNearest && rs.shared < n && !contains(rs.above, rs.shared) && (len(steps) == 0 || steps[0].Layers != rs.shared) {
		rs.above = append(rs.above, rs.shared)
		sort.Ints(rs.above)
	}
	for _, k := range rs.above {
		u := Step{Names: []Name{}, Layers: k, Confidence: Guess, Unknown: true}
		if contains(rs.bounds, k) {
			u.Signals = append(u.Signals, SignalBoundary)
			u.Evidence = append(u.Evidence, fmt.Sprintf("history: an image ends with its first %d layers (a %s step closes it and more layers follow)", k, closerAt(rs.img, k)))
		}
		if k == rs.shared {
			u.Signals = append(u.Signals, SignalChain)
			u.Evidence = append(u.Evidence, fmt.Sprintf("catalog: another catalogued image shares exactly the first %d layers without being this image's ancestor, so a common parent of %d layers exists", k, k))
		}
		if c := closerIndex(rs.img, k); c >= 0 {
			u.Entries, u.Boundary = c+1, BoundaryGuessed
		}
		named := false
		for _, st := range steps {
			named = named || (!st.Unknown && st.Layers > 0 && st.Layers < k)
		}
		steps = insertByLayers(steps, u)
		if named {
			rs.r.Notes = append(rs.r.Notes, fmt.Sprintf("an intermediate parent is unknown: the image of the first %d layers is not in the catalog and nothing names it", k))
		} else {
			rs.r.Notes = append(rs.r.Notes, fmt.Sprintf("an ancestor of %d layers is unknown: it is not in the catalog and nothing names it", k))
		}
	}
	return steps
}

// settle fills what a step's phases left open: where its steps end when
// only its layers are known, the caveats for what stays unknown, and
// empty (never null) lists.
func (rs *resolver) settle(s *Step) {
	if s.Boundary == "" && s.Layers > 0 {
		e, how, why := entriesAfterLayers(rs.img, rs.ins, s.Layers)
		s.Entries, s.Boundary = e, how
		if why != "" {
			s.Evidence = append(s.Evidence, why)
		}
	}
	if s.Boundary == "" {
		s.Boundary = BoundaryUnknown
	}
	if s.Boundary == BoundaryUnknown && !s.Unknown {
		s.Entries = 0
		s.Caveats = append(s.Caveats, fmt.Sprintf("where %s's steps end in this image's history is not known (no catalogued image has its layers; no builder record, ko history or closing CMD/ENTRYPOINT followed by more layers shows it): every step is listed as this image's own, the base's included", s.Name()))
	}
	if s.claimed != "" && (len(s.Names) == 0 || (s.Names[0].Digest != s.claimed && s.Names[0].Index != s.claimed)) {
		s.Caveats = append(s.Caveats, fmt.Sprintf("the %s gives the digest %s, which nothing confirms (no catalogued image, provenance or buildinfo record has it), so it is not pinned", s.claimedBy, s.claimed))
	}
	if s.Names == nil {
		s.Names = []Name{}
	}
	if s.Signals == nil {
		s.Signals = []string{}
	}
	if s.Evidence == nil {
		s.Evidence = []string{}
	}
}

// closingNotes says so when nothing at all is known.
func (rs *resolver) closingNotes() {
	if len(rs.r.Ancestry) > 0 || rs.r.From.Kind != KindUnidentified {
		return
	}
	what := "no catalogued image matches the layers"
	if len(rs.r.Identical) > 0 {
		what = "no catalogued image is an ancestor (the identical ones are this image)"
	}
	rs.r.Notes = append(rs.r.Notes, "base unknown: no provenance, base annotation, buildah or buildinfo record; "+what+"; no known base fingerprint in the history; the first layer is not shown to start from an empty file system")
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
// stepsOf lists the image's steps as the catalog keeps them, so they
// compare with catalogued entries' Steps.
func stepsOf(img *image.Image) []string {
	out := make([]string, len(img.History))
	for i, h := range img.History {
		out[i] = catalog.StepText(h.CreatedBy)
	}
	return out
}

func firstBuilder(ins []history.Instruction, b history.Builder) int {
	for i, in := range ins {
		if in.Builder == b {
			return i
		}
	}
	return -1
}

func layersBefore(img *image.Image, k int) int {
	n := 0
	for _, h := range img.History[:min(k, len(img.History))] {
		if h.Layer >= 0 {
			n++
		}
	}
	return n
}

// stepsBefore says "step 1 is" or "steps 1-k are".
func stepsBefore(k int) string {
	if k == 1 {
		return "step 1 is"
	}
	return fmt.Sprintf("steps 1-%d are", k)
}
