package waste

import (
	"fmt"
	"strings"

	"github.com/strata-tool/strata/lineage"
)

// BaseOf turns an image's lineage into the base's share of its n layers:
// the nearest ancestor's layers (named, or an unnamed one the history
// shows, said to be a guess); none for an image FROM scratch; otherwise
// the first layer, as dive counts it, and a note says so. r may be nil
// (no lineage answer).
func BaseOf(r *lineage.Result, n int) Base {
	switch {
	case r != nil && len(r.Ancestry) > 0 && r.Ancestry[0].Layers > 0 && r.Ancestry[0].Layers <= n:
		s := r.Ancestry[0]
		b := Base{Layers: s.Layers, Known: !s.Unknown && s.Confidence != lineage.Guess, Name: s.Name()}
		switch {
		case s.Unknown:
			b.Note = fmt.Sprintf("the base is not named; the history shows it ends after %s (%s)", count(s.Layers, "layer"), strings.Join(s.Evidence, "; "))
		case !b.Known:
			b.Note = fmt.Sprintf("base %s is a guess (%s)", s.Name(), strings.Join(s.Evidence, "; "))
		}
		return b
	case r != nil && r.From.Kind == lineage.KindScratch:
		return Base{Known: true, Name: "scratch"}
	}
	return Base{Layers: min(1, n), Note: "base image not identified: only the first layer is counted as the base's (strata catalog add BASE lets strata match it)"}
}
