package lineage

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/reference"
)

// reconcile folds the builder's declarations into the chain matches. A
// declaration naming a chain-matched image verifies that step, unless the
// digest it gives is not that image's: then the layers are believed and
// the mismatch said. One naming nothing catalogued becomes the direct
// parent step (returned apart so the caller can size it); a declaration
// the catalog contradicts is kept and the contradiction noted. A declared
// digest is pinned only when something corroborates it: the build's own
// record of what it resolved (provenance, buildinfo) or the catalog.
func (rs *resolver) reconcile(decls []declaration) ([]Step, *Step, error) {
	notes := &rs.r.Notes
	steps := append([]Step(nil), rs.chainSteps...)
	var direct *Step
	var bare []declaration // digests with no name: placed after the rest
	for _, d := range decls {
		if len(d.refs) == 1 && d.refs[0] == "scratch" {
			// Docker Official Images annotate their root images so.
			rs.declaredScratch = append(rs.declaredScratch, d.evidence)
			*notes = append(*notes, fmt.Sprintf("the %s says this image was built FROM scratch: %s", d.signal, d.evidence))
			continue
		}
		if i, j := findDeclared(steps, d); i >= 0 {
			rs.verify(steps, i, j, d)
			continue
		}
		corroborated := d.pins
		if rs.cat != nil {
			if err := noteContradiction(rs.ctx, rs.cat, d, notes); err != nil {
				return nil, nil, err
			}
			if !corroborated && d.digest != "" {
				ok, err := catalogHas(rs, d)
				if err != nil {
					return nil, nil, err
				}
				if corroborated = ok; ok {
					d.evidence += fmt.Sprintf("; the catalog holds %s at that digest", d.refs[0])
				}
			}
		}
		switch {
		case direct != nil && agrees(*direct, d):
			join(direct, d, corroborated, notes)
		case direct != nil:
			*notes = append(*notes, fmt.Sprintf("the %s disagrees with the %s: %s", d.signal, direct.Signals[0], d.evidence))
		case len(d.refs) == 0:
			bare = append(bare, d)
		default:
			direct = newDirect(d, corroborated)
		}
	}
	for _, d := range bare {
		if direct != nil && len(direct.Names) == 1 && direct.Names[0].Digest == "" && direct.claimed == "" {
			// The digest of the base another record names.
			direct.Signals = appendUnique(direct.Signals, d.signal)
			direct.Evidence = append(direct.Evidence, d.evidence)
			direct.claimed, direct.claimedBy = d.digest, describe(d.signal)
			continue
		}
		// buildah writes a bare digest even for FROM scratch builds.
		*notes = append(*notes, fmt.Sprintf("the %s gives a base digest, %s, but no name, and no catalogued image has that digest: it names nothing (buildah writes one even for FROM scratch builds)", describe(d.signal), d.digest))
	}
	return steps, direct, nil
}

// verify folds declaration d into the chain-matched step i, whose name j
// it points at.
func (rs *resolver) verify(steps []Step, i, j int, d declaration) {
	notes := &rs.r.Notes
	s := &steps[i]
	s.Signals = appendUnique(s.Signals, d.signal)
	s.Evidence = append(s.Evidence, d.evidence)
	n := s.Names[j]
	if d.digest == "" || n.Digest == d.digest || n.Index == d.digest || (n.Digest == "" && n.Index == "") {
		// A catalogued image with no digest recorded cannot contradict one.
		s.Confidence = Verified
	} else {
		s.Evidence = append(s.Evidence, fmt.Sprintf("the %s gives the digest %s, which is not %s's (catalogued %s): the declared digest did not match, so the layer evidence is preferred", describe(d.signal), d.digest, n.Ref, digests(n)))
		*notes = append(*notes, fmt.Sprintf("the %s's digest %s did not match %s, which its name and this image's layers point at (%s); the layers are taken as the evidence", describe(d.signal), d.digest, n.Ref, digests(n)))
	}
	if d.boundary != "" && d.layers == s.Layers && s.Boundary != BoundaryExact {
		s.Entries, s.Boundary = d.entries, d.boundary
	}
	// The declaration picks among names with the same layers.
	if j > 0 {
		copy(s.Names[1:j+1], s.Names[:j])
		s.Names[0] = n
		s.Evidence = append(s.Evidence, fmt.Sprintf("the %s names %s among the images with these layers", d.signal, n.Ref))
	}
	if len(d.refs) == 1 && !reference.SameTag(d.refs[0], s.Names[0].Ref) {
		*notes = append(*notes, fmt.Sprintf("the %s's name (%s) and digest (%s) disagree: the digest and the layers point at %s", d.signal, d.refs[0], d.digest, s.Names[0].Ref))
	}
	if i > 0 {
		*notes = append(*notes, fmt.Sprintf("the %s names %s, but a nearer catalogued image (%s, %d layers) also matches this image's layers", d.signal, s.Names[0].Ref, steps[0].Name(), steps[0].Layers))
	}
}

// newDirect makes the step of a declared parent the catalog does not hold.
func newDirect(d declaration, corroborated bool) *Step {
	s := Step{Layers: d.layers, Entries: d.entries, Boundary: d.boundary, Signals: []string{d.signal}, Confidence: Declared, Evidence: []string{d.evidence}}
	for _, ref := range d.refs {
		s.Names = append(s.Names, Name{Ref: ref})
	}
	if len(d.refs) == 1 && d.digest != "" && !strings.Contains(d.refs[0], "@") {
		// A multi-stage declaration does not say which name the digest
		// is; a name@digest reference pins itself.
		if corroborated {
			s.Names[0].Digest = d.digest
		} else {
			s.claimed, s.claimedBy = d.digest, describe(d.signal)
		}
	}
	return &s
}

// join adds a declaration that agrees with the direct parent's.
func join(direct *Step, d declaration, corroborated bool, notes *[]string) {
	direct.Signals = appendUnique(direct.Signals, d.signal)
	direct.Evidence = append(direct.Evidence, d.evidence)
	if direct.Boundary == "" && d.boundary != "" {
		direct.Layers, direct.Entries, direct.Boundary = d.layers, d.entries, d.boundary
	}
	if d.digest == "" || len(direct.Names) != 1 {
		return
	}
	n := &direct.Names[0]
	switch {
	case n.Digest == d.digest:
	case n.Digest == "" && direct.claimed == "":
		if corroborated {
			n.Digest = d.digest
		} else {
			direct.claimed, direct.claimedBy = d.digest, describe(d.signal)
		}
	case n.Digest == "" && direct.claimed == d.digest:
		if corroborated {
			n.Digest, direct.claimed = d.digest, ""
			direct.Evidence = append(direct.Evidence, fmt.Sprintf("the %s confirms the digest %s", describe(d.signal), d.digest))
		}
	default:
		prev := n.Digest
		if prev == "" {
			prev = direct.claimed
		}
		*notes = append(*notes, fmt.Sprintf("the %s gives the digest %s for %s, another record %s", describe(d.signal), d.digest, n.Ref, prev))
	}
}

// describe names a signal's record for a sentence.
func describe(signal string) string {
	switch signal {
	case SignalAnnotation:
		return "base annotation"
	case SignalLabel:
		return "base label"
	case SignalBuildah:
		return "buildah FROM comment"
	case SignalBuildInfo:
		return "BuildKit buildinfo"
	case SignalProvenance:
		return "provenance attestation"
	}
	return signal
}

func digests(n Name) string {
	s := "manifest " + n.Digest
	if n.Index != "" {
		s += ", index " + n.Index
	}
	return s
}

// findDeclared returns the step and name a declaration points at: by
// digest first, else by name.
func findDeclared(steps []Step, d declaration) (int, int) {
	if d.digest != "" {
		for i, s := range steps {
			for j, n := range s.Names {
				if n.Digest == d.digest || n.Index == d.digest {
					return i, j
				}
			}
		}
	}
	for i, s := range steps {
		for j, n := range s.Names {
			for _, r := range d.refs {
				if reference.SameTag(r, n.Ref) {
					return i, j
				}
			}
		}
	}
	return -1, -1
}

func agrees(s Step, d declaration) bool {
	for _, n := range s.Names {
		if d.digest != "" && (n.Digest == d.digest || s.claimed == d.digest) {
			return true
		}
		for _, r := range d.refs {
			if reference.SameTag(r, n.Ref) {
				return true
			}
		}
	}
	return false
}

// catalogHas reports whether the catalog holds an image of the declared
// name at the declared digest: a declared digest the catalog corroborates
// even when the layers do not match (a squashed child).
func catalogHas(rs *resolver, d declaration) (bool, error) {
	es, err := rs.cat.List(rs.ctx, catalog.Filter{Digest: d.digest, Limit: 20})
	if err != nil {
		return false, fmt.Errorf("lineage: %w", err)
	}
	for _, e := range es {
		for _, ref := range d.refs {
			if reference.SameTag(ref, e.Ref()) {
				return true, nil
			}
		}
	}
	return false, nil
}

// noteContradiction reports a declared base that is catalogued but whose
// layers are not this image's bottom layers.
func noteContradiction(ctx context.Context, cat catalog.Catalog, d declaration, notes *[]string) error {
	for _, ref := range d.refs {
		n, err := reference.ParseName(ref)
		if err != nil {
			continue
		}
		es, err := cat.List(ctx, catalog.Filter{Name: n.FamiliarRepository(), Tag: n.ExplicitTag(), Limit: 5})
		if err != nil {
			return fmt.Errorf("lineage: %w", err)
		}
		if len(es) == 0 {
			continue
		}
		note := fmt.Sprintf("%s is catalogued, but its layers are not this image's bottom layers: the image was squashed or rebased, or the catalogued %s is another version", ref, es[0].Ref())
		if !containsString(*notes, note) {
			*notes = append(*notes, note)
		}
	}
	return nil
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func appendUnique(xs []string, x string) []string {
	for _, v := range xs {
		if v == x {
			return xs
		}
	}
	return append(xs, x)
}
