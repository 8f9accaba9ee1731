package lineage

import (
	"fmt"
	"regexp"
	"strings"
)

var reImageID = regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)

// buildahFromName returns the image a buildah "FROM <name>" history
// comment names ("" when there is none).
func buildahFromName(comment string) string {
	j := strings.Index(comment, "FROM ")
	if j < 0 || (j > 0 && comment[j-1] != ' ') {
		return ""
	}
	f := strings.Fields(comment[j+len("FROM "):])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func isBuildahFrom(comment string) bool { return buildahFromName(comment) != "" }

// buildahDeclaration reads buildah's FROM comment. Where buildah writes it
// depends on how it committed:
//
//   - every step (--layers, podman build's default): on the first entry it
//     added on top of the base; each later entry's comment names the
//     intermediate image below it by ID ("FROM 9bb9883884fd"), so the
//     base is the last FROM that names an image rather than an ID, and the
//     entries before it are the base's;
//   - once (plain buildah bud, podman build --layers=false): on the last
//     entry, the one that made the image's only own layer, after the other
//     steps' entries, which it records as empty. The layers below are all
//     the base's; which of the empty entries between are is read off their
//     format (oneCommitEnd);
//   - once, squashed (--squash): on the last entry too, with no layer and
//     no entry of the base's below it.
//
// FROM scratch builds get no such comment (with --layers their later
// entries still name intermediate IDs, which say nothing about a base).
func (rs *resolver) buildahDeclaration() (declaration, bool) {
	hist := rs.img.History
	at, name := -1, ""
	for i := len(hist) - 1; i >= 0 && at < 0; i-- {
		if n := buildahFromName(hist[i].Comment); n != "" && !reImageID.MatchString(n) {
			at, name = i, n
		}
	}
	if at < 0 {
		return declaration{}, false
	}
	d := declaration{signal: SignalBuildah, refs: []string{name}}
	last := -1 // the last entry below the comment that made a layer
	for i := at - 1; i >= 0 && last < 0; i-- {
		if hist[i].Layer >= 0 {
			last = i
		}
	}
	quoted := fmt.Sprintf("%q", "FROM "+name)
	switch {
	case at < len(hist)-1 || hist[at].Layer < 0:
		d.entries, d.layers, d.boundary = at, layersBefore(rs.img, at), BoundaryExact
		d.evidence = fmt.Sprintf("buildah recorded %s in the comment of step %d, the first step it added on top of the base (it committed every step, as with --layers): %s the base's", quoted, at+1, stepsBefore(at))
	case last < 0:
		d.boundary = BoundaryExact
		d.evidence = fmt.Sprintf("buildah recorded %s on step %d, the last, which made the image's only layer; no step below it made one, so the base's layers were squashed into it (--squash) and none of the base's steps were kept: every step listed is this image's own", quoted, at+1)
	default:
		end, how, why := oneCommitEnd(rs.img, rs.ins, last+1, at)
		d.entries, d.layers, d.boundary = end, layersBefore(rs.img, at), how
		below := fmt.Sprintf("the %d layers below are", d.layers)
		if d.layers == 1 {
			below = "the layer below is"
		}
		d.evidence = fmt.Sprintf("buildah recorded %s on step %d, the last, which made this image's own layer: it committed once (no --layers), so %s the base's; %s", quoted, at+1, below, why)
	}
	return d, true
}
