package lineage

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

// keyword returns the Dockerfile keyword of a created_by in any builder's
// form: "/bin/sh -c #(nop)  CMD […]", "CMD […]" (BuildKit), "/bin/sh -c …"
// (classic RUN) → RUN.
func keyword(createdBy string) string {
	s := strings.TrimSpace(createdBy)
	if i := strings.Index(s, "#(nop)"); i >= 0 {
		s = strings.TrimSpace(s[i+len("#(nop)"):])
	} else if strings.HasPrefix(s, "/bin/sh -c ") || strings.HasPrefix(s, "|") {
		return "RUN"
	}
	kw, _, _ := strings.Cut(s, " ")
	return strings.ToUpper(kw)
}

// closes reports whether an empty history step typically ends an image:
// its default command. A Dockerfile rarely sets CMD and then adds layers,
// so CMD/ENTRYPOINT followed by more layers marks where a parent ended.
func closes(h image.HistoryEntry) bool {
	if h.Layer >= 0 {
		return false
	}
	switch keyword(h.CreatedBy) {
	case "CMD", "ENTRYPOINT":
		return true
	}
	return false
}

// boundaries lists the layer counts k (0 < k < n) at which the history
// shows an image ending: a closing step (CMD/ENTRYPOINT) after layer k
// with more layers following, or a distribution root file system as the
// first layer.
func boundaries(img *image.Image) []int {
	var out []int
	add := func(k int) {
		if k > 0 && k < len(img.Layers) && !contains(out, k) {
			out = append(out, k)
		}
	}
	layers := 0
	for _, h := range img.History {
		if h.Layer >= 0 {
			layers = h.Layer + 1
			if h.Layer == 0 && rootfsName(h.CreatedBy) != "" {
				add(1)
			}
			continue
		}
		if closes(h) {
			add(layers)
		}
	}
	return out
}

// closerIndex is the history index of the last step of the image of the
// first k layers: the last closing step before layer k+1 is made, or the
// step that made layer k-1.
func closerIndex(img *image.Image, k int) int {
	idx := -1
	for i, h := range img.History {
		if h.Layer >= k {
			break
		}
		if h.Layer == k-1 || (h.Layer < 0 && idx >= 0 && closes(h)) {
			idx = i
		}
	}
	return idx
}

// closerAt names the step that closes the image of the first k layers.
func closerAt(img *image.Image, k int) string {
	i := closerIndex(img, k)
	if i < 0 {
		return "history"
	}
	h := img.History[i]
	if closes(h) {
		return keyword(h.CreatedBy)
	}
	if n := rootfsName(h.CreatedBy); n != "" {
		return n
	}
	return keyword(h.CreatedBy)
}

// reFromID is buildah --layers' comment on every step after the first of
// a build: the intermediate image it committed the step on.
var reFromID = regexp.MustCompile(`(^|\s)FROM (sha256:)?[0-9a-f]{12,64}$`)

// format names the builder whose history format an entry is in, "" when
// the text could be more than one builder's (the classic builder and
// buildah write RUN, and #(nop) COPY/ADD/WORKDIR, the same way).
func format(h image.HistoryEntry, in history.Instruction) string {
	switch {
	case reFromID.MatchString(h.Comment):
		return "buildah --layers"
	case in.Builder == history.BuildKit:
		return "BuildKit"
	case in.Builder == history.Classic && strings.Contains(h.CreatedBy, "#(nop)  "):
		return "classic builder"
	case in.Builder == history.Classic, in.Builder == history.Unknown, in.Builder == history.Filler:
		return ""
	}
	return string(in.Builder)
}

// entriesAfterLayers places the end of a base known only by its layer
// count k: after the step that made its last layer come the empty steps
// up to the next layer, some of them the base's closing metadata, the
// rest the image's own. A change of history format there says where the
// base's end (inferred); else the base's closing CMD/ENTRYPOINT does (a
// guess); else its last layer's step is taken as its last (a guess).
func entriesAfterLayers(img *image.Image, ins []history.Instruction, k int) (int, string, string) {
	last := -1
	for i, h := range img.History {
		if h.Layer == k-1 {
			last = i
			break
		}
	}
	if last < 0 {
		return 0, BoundaryUnknown, ""
	}
	from, to := last+1, last+1
	for to < len(img.History) && img.History[to].Layer < 0 {
		to++
	}
	if from == to {
		return from, BoundaryInferred, ""
	}
	if to < len(img.History) && isBuildahFrom(img.History[to].Comment) && !reFromID.MatchString(img.History[to].Comment) {
		// buildah committed once on top of this base: its own empty
		// entries sit between.
		return oneCommitEnd(img, ins, from, to)
	}
	baseFmt := ""
	for j := last; j >= 0 && baseFmt == ""; j-- {
		baseFmt = format(img.History[j], ins[j])
	}
	for j := from; j < to && baseFmt != ""; j++ {
		if f := format(img.History[j], ins[j]); f != "" && f != baseFmt {
			return j, BoundaryInferred, fmt.Sprintf("its steps end at step %d: up to there the history is in the %s format, from step %d on in the %s format", j, baseFmt, j+1, f)
		}
	}
	for j := from; j < to; j++ {
		if closes(img.History[j]) {
			end := j + 1
			for end < to && closes(img.History[end]) {
				end++
			}
			return end, BoundaryGuessed, fmt.Sprintf("its steps are taken to end at step %d, the %s that closes it (base images end with their default command)", end, keyword(img.History[end-1].CreatedBy))
		}
	}
	return from, BoundaryGuessed, fmt.Sprintf("its steps are taken to end at step %d, which made its last layer: no closing CMD/ENTRYPOINT or change of history format shows whether the empty steps after it are the base's or this image's", from)
}

// oneCommitEnd splits the empty entries [from, to) between a base and the
// buildah build that committed once on top of it: buildah records every
// step but the last as an empty, uncommented entry in its own format, so
// the base's entries end after the last one in another builder's format
// (BuildKit's, the classic builder's two-space #(nop), buildah --layers'
// FROM <id> comments).
func oneCommitEnd(img *image.Image, ins []history.Instruction, from, to int) (int, string, string) {
	if from >= to {
		return from, BoundaryExact, fmt.Sprintf("no other step lies between the base's last layer (step %d) and it", from)
	}
	lastBase, firstOwn := -1, -1
	for j := from; j < to; j++ {
		h := img.History[j]
		own := h.Comment == "" && (ins[j].Builder == history.Buildah || format(h, ins[j]) == "")
		switch {
		case own && firstOwn < 0:
			firstOwn = j
		case !own:
			lastBase = j
		}
	}
	switch {
	case lastBase < 0:
		return from, BoundaryInferred, fmt.Sprintf("the %d empty steps after the base's last layer (step %d) are all in the buildah format (uncommented, empty): they are this image's", to-from, from)
	case firstOwn < 0:
		return to, BoundaryInferred, fmt.Sprintf("the empty steps %d to %d after the base's last layer are in the %s format, not buildah's: they are the base's", from+1, to, format(img.History[lastBase], ins[lastBase]))
	case firstOwn > lastBase:
		return lastBase + 1, BoundaryInferred, fmt.Sprintf("the base's steps end at step %d: up to there the history is in the %s format, from step %d on in the buildah format (uncommented, empty)", lastBase+1, format(img.History[lastBase], ins[lastBase]), lastBase+2)
	}
	return lastBase + 1, BoundaryGuessed, fmt.Sprintf("the base's steps are taken to end at step %d, the last one in the %s format; buildah-format steps come before it too, so the split is a guess", lastBase+1, format(img.History[lastBase], ins[lastBase]))
}
