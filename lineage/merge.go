package lineage

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/catalog"
)

// reconcile folds the builder's declarations into the chain matches. A
// declaration naming a chain-matched image verifies that step; one naming
// nothing catalogued becomes the direct parent step (returned apart so
// the caller can size it); a declaration the catalog contradicts is kept
// and the contradiction noted.
func reconcile(ctx context.Context, cat catalog.Catalog, decls []declaration, chain []Step, notes *[]string) ([]Step, *Step, error) {
	steps := append([]Step(nil), chain...)
	var direct *Step
	for _, d := range decls {
		if len(d.refs) == 1 && d.refs[0] == "scratch" {
			// Docker Official Images annotate their root images so.
			*notes = append(*notes, fmt.Sprintf("the %s says this image was built FROM scratch: %s", d.signal, d.evidence))
			continue
		}
		i, j := findDeclared(steps, d)
		if i >= 0 {
			s := &steps[i]
			s.Signals = appendUnique(s.Signals, d.signal)
			s.Evidence = append(s.Evidence, d.evidence)
			s.Confidence = Verified
			// The declaration picks among names with the same layers.
			if j > 0 {
				n := s.Names[j]
				copy(s.Names[1:j+1], s.Names[:j])
				s.Names[0] = n
				s.Evidence = append(s.Evidence, fmt.Sprintf("the %s names %s among the images with these layers", d.signal, n.Ref))
			}
			if len(d.refs) == 1 && !sameRef(d.refs[0], s.Names[0].Ref) {
				*notes = append(*notes, fmt.Sprintf("the %s's name (%s) and digest (%s) disagree: the digest and the layers point at %s", d.signal, d.refs[0], d.digest, s.Names[0].Ref))
			}
			if i > 0 {
				*notes = append(*notes, fmt.Sprintf("the %s names %s, but a nearer catalogued image (%s, %d layers) also matches this image's layers", d.signal, s.Names[0].Ref, steps[0].Name(), steps[0].Layers))
			}
			continue
		}
		if cat != nil {
			if err := noteContradiction(ctx, cat, d, notes); err != nil {
				return nil, nil, err
			}
		}
		if direct != nil && agrees(*direct, d) {
			direct.Signals = appendUnique(direct.Signals, d.signal)
			direct.Evidence = append(direct.Evidence, d.evidence)
			if direct.Layers == 0 && d.layers > 0 {
				direct.Layers, direct.Entries = d.layers, d.entries
			}
			continue
		}
		if direct != nil {
			*notes = append(*notes, fmt.Sprintf("the %s disagrees with the %s: %s", d.signal, direct.Signals[0], d.evidence))
			continue
		}
		if len(d.refs) == 0 {
			// A bare digest that names nothing catalogued (buildah writes
			// one even for FROM scratch builds): not enough to show.
			*notes = append(*notes, fmt.Sprintf("the %s gives only a digest, %s, which no catalogued image has", d.signal, d.digest))
			continue
		}
		s := Step{Layers: d.layers, Entries: d.entries, Signals: []string{d.signal}, Confidence: Declared, Evidence: []string{d.evidence}}
		for _, ref := range d.refs {
			s.Names = append(s.Names, Name{Ref: ref, Digest: d.digest})
		}
		if len(d.refs) > 1 {
			// Multi-stage: the declaration does not say which is final.
			for k := range s.Names {
				s.Names[k].Digest = ""
			}
		}
		direct = &s
	}
	return steps, direct, nil
}

// findDeclared returns the step and name a declaration points at.
func findDeclared(steps []Step, d declaration) (int, int) {
	for i, s := range steps {
		for j, n := range s.Names {
			if d.digest != "" && (n.Digest == d.digest || n.Index == d.digest) {
				return i, j
			}
			for _, r := range d.refs {
				if sameRef(r, n.Ref) {
					return i, j
				}
			}
		}
	}
	return -1, -1
}

func agrees(s Step, d declaration) bool {
	for _, n := range s.Names {
		if d.digest != "" && n.Digest == d.digest {
			return true
		}
		for _, r := range d.refs {
			if sameRef(r, n.Ref) {
				return true
			}
		}
	}
	return false
}

// noteContradiction reports a declared base that is catalogued but whose
// layers are not this image's bottom layers.
func noteContradiction(ctx context.Context, cat catalog.Catalog, d declaration, notes *[]string) error {
	for _, ref := range d.refs {
		f := catalog.ParseFilter(strings.TrimPrefix(normalize(ref), "@"))
		if f.Name == "" {
			continue
		}
		es, err := cat.List(ctx, catalog.Filter{Name: f.Name, Tag: f.Tag, Limit: 5})
		if err != nil {
			return fmt.Errorf("lineage: %w", err)
		}
		if len(es) > 0 {
			*notes = append(*notes, fmt.Sprintf("the %s names %s, which is catalogued, but its layers are not this image's bottom layers: the image was squashed or rebased, or the catalogued %s is another version", d.signal, ref, es[0].Ref()))
		}
	}
	return nil
}

func appendUnique(xs []string, x string) []string {
	for _, v := range xs {
		if v == x {
			return xs
		}
	}
	return append(xs, x)
}
