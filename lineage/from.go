package lineage

import (
	"fmt"
	"strings"
)

// chooseFrom gives the one FROM answer: the nearest ancestor named with
// authority, else scratch when the bottom layer was written onto an empty
// file system, else unidentified. A FROM line names its base with
// authority, so a history fingerprint (a guess) or the several bases of a
// multi-stage build's records are not enough; they are said instead.
func (rs *resolver) chooseFrom() Base {
	steps := rs.r.Ancestry
	var caveats []string
	for i, s := range steps {
		switch {
		case s.Unknown:
			continue
		case s.Confidence == Guess:
			caveats = append(caveats, fmt.Sprintf("the history suggests %s (%s): a guess, which a FROM line does not name", s.Name(), strings.Join(s.Evidence, "; ")))
			continue
		case len(s.Names) > 1 && !hasSignal(s, SignalChain):
			caveats = append(caveats, fmt.Sprintf("the %s names %d images (a multi-stage build) without saying which the final stage is FROM: %s", describe(s.Signals[0]), len(s.Names), refs(s.Names)))
			continue
		}
		return namedBase(steps, i)
	}
	for _, s := range steps {
		if s.Unknown {
			caveats = append(caveats, fmt.Sprintf("the history shows an ancestor of %d layer%s that nothing names (see strata base): its steps are listed as this image's own", s.Layers, plural(s.Layers)))
		}
	}
	if len(rs.declaredScratch) > 0 {
		return Base{Kind: KindScratch, Boundary: BoundaryExact, Confidence: Declared, Signals: []string{SignalAnnotation},
			Evidence: rs.declaredScratch, Caveats: caveats}
	}
	if why, ok := scratchStart(rs.img, rs.ins); ok {
		caveats = append(caveats, "no base image is named: had the image been built FROM one whose steps are all in this history, those steps are counted here as this image's own")
		return Base{Kind: KindScratch, Boundary: BoundaryExact, Confidence: Guess, Signals: []string{SignalRootFS},
			Evidence: []string{why}, Caveats: caveats}
	}
	return Base{Kind: KindUnidentified, Boundary: BoundaryUnknown,
		Evidence: []string{"base image not identified: FROM scratch is a placeholder and the whole history follows"}, Caveats: caveats}
}

// namedBase is the FROM answer for ancestry step i.
func namedBase(steps []Step, i int) Base {
	s := steps[i]
	b := Base{Kind: KindBase, Name: s.Name(), Layers: s.Layers, Entries: s.Entries, Boundary: s.Boundary,
		Confidence: s.Confidence, Signals: s.Signals, Evidence: s.Evidence, Caveats: append([]string(nil), s.Caveats...)}
	n := s.Names[0]
	b.Digest = n.Digest
	if n.Index != "" {
		// The index digest is what `docker pull name@…` takes.
		b.Digest = n.Index
	}
	switch {
	case len(s.Names) > 1 && n.By == "":
		b.Caveats = append(b.Caveats, fmt.Sprintf("catalogued with these layers as %s", refs(s.Names[1:])))
	case len(s.Names) > 1:
		b.Caveats = append(b.Caveats, fmt.Sprintf("equally matched: %s (the same layers; FROM names the first)", refs(s.Names[1:])))
	}
	if i > 0 && steps[0].Unknown {
		b.Caveats = append(b.Caveats, fmt.Sprintf("an unnamed intermediate parent of %d layers sits between: its steps are listed as this image's own", steps[0].Layers))
	}
	if b.Boundary == BoundaryUnknown {
		b.Entries = 0
	}
	return b
}

func hasSignal(s Step, sig string) bool {
	for _, x := range s.Signals {
		if x == sig {
			return true
		}
	}
	return false
}
