package lineage

import (
	"fmt"
	"io"
	"strings"

	"github.com/strata-tool/strata/internal/safetext"
)

// WriteText prints r as strata base does: the image, then its ancestry
// nearest first with each step's evidence and caveats in full, the
// identical catalogued images and the notes. An image with no ancestor
// shows its FROM answer instead: scratch, or unknown. Names, evidence and
// notes quote image text, so each is escaped onto its one line
// (safetext.Line).
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %d layer%s)\n", safetext.Line(r.Image), safetext.Line(r.Platform), r.Layers, plural(r.Layers))
	if len(r.Ancestry) == 0 {
		switch r.From.Kind {
		case KindScratch:
			fmt.Fprintf(&b, "base scratch  [%s; %s]\n", r.From.Confidence, strings.Join(r.From.Signals, "+"))
			lines(&b, "", r.From.Evidence)
			lines(&b, "caveat: ", r.From.Caveats)
		default:
			fmt.Fprintln(&b, "base: unknown")
			lines(&b, "caveat: ", r.From.Caveats)
		}
	}
	for i, s := range r.Ancestry {
		what := "unknown image"
		if !s.Unknown {
			var names []string
			for _, n := range s.Names {
				names = append(names, safetext.Line(n.Ref))
			}
			what = strings.Join(names, " = ")
		}
		layers := "? layers"
		if s.Layers > 0 {
			layers = fmt.Sprintf("%d layer%s", s.Layers, plural(s.Layers))
		}
		label := "base"
		if i > 0 {
			label = "  ←"
		}
		fmt.Fprintf(&b, "%s %s  [%s; %s; %s]\n", label, what, layers, s.Confidence, strings.Join(s.Signals, "+"))
		if !s.Unknown && len(s.Names) > 0 {
			if d := s.Names[0].Digest; d != "" {
				fmt.Fprintf(&b, "       digest %s\n", safetext.Line(d))
			}
			if d := s.Names[0].Index; d != "" {
				fmt.Fprintf(&b, "       index  %s\n", safetext.Line(d))
			}
		}
		lines(&b, "", s.Evidence)
		lines(&b, "caveat: ", s.Caveats)
	}
	if len(r.Identical) > 0 {
		var names []string
		for _, n := range r.Identical {
			names = append(names, safetext.Line(n.Ref+" ("+n.Platform+")"))
		}
		fmt.Fprintf(&b, "identical: %s\n", strings.Join(names, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", safetext.Line(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func lines(b *strings.Builder, prefix string, ls []string) {
	for _, l := range ls {
		fmt.Fprintf(b, "       %s%s\n", prefix, safetext.Line(l))
	}
}
