package dockerfile

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/lineage"
)

// chooseFrom takes the FROM line from package lineage, the one place that
// reads base signals: the caller's answer (which used the catalog and the
// provenance), else lineage read from the image alone. The base's steps
// are folded away only where lineage knows where they end.
func (r *renderer) chooseFrom() {
	img := r.img
	b := r.opts.Base
	if b == nil {
		// No catalog: lineage does no I/O.
		res, err := lineage.Resolve(context.Background(), nil, lineage.Input{Image: img})
		if err != nil {
			b = &lineage.Base{Kind: lineage.KindUnidentified, Boundary: lineage.BoundaryUnknown,
				Evidence: []string{"base image not identified (" + err.Error() + "): FROM scratch is a placeholder and the whole history follows"}}
		} else {
			b = &res.From
		}
	}
	r.from = From{Ref: b.Ref(), Base: *b}
	if b.Boundary == lineage.BoundaryUnknown || b.Kind != lineage.KindBase {
		return
	}
	k := min(max(b.Entries, 0), len(img.History))
	r.start = k
	r.from.FoldedEntries = k
	r.from.FoldedLayers = layersBefore(img, k)
}

func layersBefore(img *image.Image, k int) int {
	n := 0
	for _, h := range img.History[:k] {
		if h.Layer >= 0 {
			n++
		}
	}
	return n
}

// fromComments explains the FROM line, one comment per item, nothing cut:
// the evidence, what it cannot tell, and what was folded away.
func (r *renderer) fromComments() []string {
	f := r.from
	ev := strings.Join(f.Evidence, "; ")
	var out []string
	switch f.Kind {
	case lineage.KindBase:
		s := "FROM " + f.Ref
		if f.Confidence != "" {
			s += " (" + f.Confidence + ")"
		}
		out = append(out, s+": "+ev)
	case lineage.KindScratch:
		out = append(out, "FROM scratch: "+ev)
	default:
		out = append(out, ev)
	}
	out = append(out, f.Caveats...)
	switch {
	case f.FoldedEntries == 1:
		out = append(out, fmt.Sprintf("%d base layer%s (step 1) folded into FROM", f.FoldedLayers, plural(f.FoldedLayers)))
	case f.FoldedEntries > 1:
		out = append(out, fmt.Sprintf("%d base layer%s (steps 1-%d) folded into FROM", f.FoldedLayers, plural(f.FoldedLayers), f.FoldedEntries))
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// commentWidth is where long comments wrap; a comment is never cut.
const commentWidth = 100

// longComment writes s as # lines, wrapped at spaces, continuation lines
// indented, every character kept.
func (r *renderer) longComment(s string) {
	const first, more = "# ", "#   "
	for i, line := range wrap(flat(s), commentWidth-len(first), commentWidth-len(more)) {
		if i == 0 {
			r.line(first + line)
		} else {
			r.line(more + line)
		}
	}
}

// wrap splits s at spaces into lines of at most width bytes (the first
// line first bytes) where it can; a word longer (a digest, a path) stays
// whole.
func wrap(s string, first, width int) []string {
	var out []string
	for w := first; len(s) > w; w = width {
		cut := strings.LastIndex(s[:w+1], " ")
		if cut <= 0 {
			cut = strings.Index(s, " ")
			if cut < 0 {
				break
			}
		}
		out = append(out, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(out, s)
}
