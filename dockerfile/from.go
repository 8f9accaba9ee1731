package dockerfile

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

var hexIDRe = regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)

// chooseFrom picks the FROM line, strongest evidence first: a base given
// by the caller (catalog, provenance), the base annotations, buildah's
// FROM comment, a first layer that is its own root file system. Without
// any of these it says plainly that the base is not identified.
func (r *renderer) chooseFrom() {
	img := r.img
	if b := r.opts.Base; b != nil {
		r.from = From{Ref: b.Ref(), Kind: "base", Evidence: b.Evidence}
		if b.Ref() == "scratch" {
			r.from.Kind = "scratch"
		}
		if b.Layers <= 0 && b.Entries <= 0 && b.Ref() != "scratch" {
			if k := guessBoundary(r.ins, img); k > 0 {
				r.foldBase(0, k)
				r.from.Evidence += fmt.Sprintf("; boundary guessed at the base's last CMD (entry %d)", k-1)
			} else {
				r.from.Evidence += "; where the base's steps end is not known, so the whole history follows"
			}
			return
		}
		r.foldBase(b.Layers, b.Entries)
		return
	}

	// buildah writes "FROM <name>" into the comment of the first entry it
	// adds on top of the base: everything before it is the base.
	fromIdx, fromName := -1, ""
	for i, h := range img.History {
		if j := strings.Index(h.Comment, "FROM "); j >= 0 && (j == 0 || h.Comment[j-1] == ' ') {
			fromIdx, fromName = i, strings.Fields(h.Comment[j+5:] + " ")[0]
			break
		}
	}
	annName, annDigest := baseAnnotations(img)
	switch {
	case annName != "" || (fromName != "" && !hexIDRe.MatchString(fromName)):
		name, ev := annName, "the image's org.opencontainers.image.base.name annotation"
		if name == "" {
			name, ev = fromName, fmt.Sprintf("buildah's history comment %q", "FROM "+fromName)
		}
		b := &Base{Name: name, Digest: annDigest}
		if strings.Contains(name, "@") {
			b.Digest = ""
		}
		r.from = From{Ref: b.Ref(), Kind: "base", Evidence: ev}
		if name == "scratch" {
			r.from.Kind = "scratch"
		}
		if fromIdx >= 0 && squashed(img, fromIdx) {
			// buildah --squash puts the comment on its one committed
			// entry, after the stage's own (empty) entries, and keeps no
			// base history at all.
			fromIdx = 0
		}
		if fromIdx >= 0 {
			r.start = fromIdx
			r.from.FoldedEntries = fromIdx
			r.from.FoldedLayers = layersBefore(img, fromIdx)
			r.from.Evidence += fmt.Sprintf("; the base's steps end before history entry %d (buildah's FROM comment)", fromIdx)
			return
		}
		if k := firstOf(r.ins, history.Ko); k > 0 {
			// ko writes history only for its own layers.
			r.start = k
			r.from.FoldedEntries = k
			r.from.FoldedLayers = layersBefore(img, k)
			r.from.Evidence += fmt.Sprintf("; ko's own steps start at history entry %d", k)
			return
		}
		if k := guessBoundary(r.ins, img); k > 0 {
			r.start = k
			r.from.FoldedEntries = k
			r.from.FoldedLayers = layersBefore(img, k)
			r.from.Evidence += fmt.Sprintf("; boundary guessed at the base's last CMD (entry %d)", k-1)
			return
		}
		r.from.Evidence += "; where the base's steps end is not known, so the whole history follows"
		return
	case fromName != "":
		r.notes = append(r.notes, fmt.Sprintf("buildah recorded FROM %s, a local image ID rather than a name", fromName))
	}

	if first := firstStep(r.ins); first >= 0 && isRootFS(r.ins[first], img.History[first]) {
		r.from = From{Ref: "scratch", Kind: "scratch",
			Evidence: fmt.Sprintf("the first layer is its own root file system (%s)", rootFSWhat(r.ins[first]))}
		return
	}
	if img.PairingProblem == "" && len(img.Layers) > 0 {
		if first := firstLayerStep(img); first >= 0 && (r.ins[first].Keyword == "COPY" || r.ins[first].Keyword == "ADD") {
			r.from = From{Ref: "scratch", Kind: "scratch",
				Evidence: "every layer has a history entry and the first one adds files to an empty file system"}
			return
		}
	}
	r.from = From{Ref: "scratch", Kind: "unidentified",
		Evidence: "base image not identified: FROM scratch is a placeholder and the whole history follows"}
}

// foldBase places the boundary for a caller-supplied base.
func (r *renderer) foldBase(layers, entries int) {
	img := r.img
	k := 0
	switch {
	case entries > 0:
		k = min(entries, len(img.History))
	case layers > 0:
		// After the entry that made the base's last layer, the base's own
		// trailing metadata steps follow; base images end with CMD (or
		// ENTRYPOINT), so fold up to those.
		for i, h := range img.History {
			if h.Layer == layers-1 {
				k = i + 1
				break
			}
		}
		for k < len(img.History) && img.History[k].Layer < 0 &&
			(r.ins[k].Keyword == "CMD" || r.ins[k].Keyword == "ENTRYPOINT" || r.ins[k].Keyword == "SHELL") {
			k++
		}
	}
	r.start = k
	r.from.FoldedEntries = k
	r.from.FoldedLayers = layersBefore(img, k)
}

// guessBoundary finds the last empty CMD/ENTRYPOINT entry that is followed
// by layer-producing steps (Trivy's heuristic): base images end with CMD.
func guessBoundary(ins []history.Instruction, img *image.Image) int {
	for i := len(img.History) - 1; i >= 0; i-- {
		kw := ins[i].Keyword
		if (kw == "CMD" || kw == "ENTRYPOINT") && img.History[i].Layer < 0 {
			for j := i + 1; j < len(img.History); j++ {
				if img.History[j].Layer >= 0 {
					return i + 1
				}
			}
		}
	}
	return 0
}

// squashed reports whether every entry before i is an empty layer while i
// made one: the shape of a buildah --squash commit.
func squashed(img *image.Image, i int) bool {
	if img.History[i].Layer < 0 {
		return false
	}
	for _, h := range img.History[:i] {
		if h.Layer >= 0 {
			return false
		}
	}
	return true
}

func firstOf(ins []history.Instruction, b history.Builder) int {
	for i, in := range ins {
		if in.Builder == b {
			return i
		}
	}
	return -1
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

func baseAnnotations(img *image.Image) (string, string) {
	for _, a := range []map[string]string{img.Annotations, chosenAnnotations(img)} {
		if a[image.AnnotationBaseName] != "" || a[image.AnnotationBaseDigest] != "" {
			return a[image.AnnotationBaseName], a[image.AnnotationBaseDigest]
		}
	}
	return "", ""
}

func chosenAnnotations(img *image.Image) map[string]string {
	if img.Index == nil || img.Index.Chosen == nil {
		return nil
	}
	return img.Index.Chosen.Annotations
}

func firstStep(ins []history.Instruction) int {
	for i, in := range ins {
		if in.Builder == history.Filler || (in.Builder == history.Unknown && in.Raw == "") {
			continue
		}
		return i
	}
	return -1
}

func firstLayerStep(img *image.Image) int {
	for i, h := range img.History {
		if h.Layer >= 0 {
			return i
		}
	}
	return -1
}

var rootfsNameRe = regexp.MustCompile(`(?i)(rootfs|minirootfs|\.tar(\.(gz|xz|bz2|zst))?$|\.tgz$)`)

// isRootFS: debuerreotype, apko, Windows base layers, or an ADD of an
// archive to / (classic `ADD file:… in /`, `ADD alpine-minirootfs….tar.gz /`).
func isRootFS(in history.Instruction, h image.HistoryEntry) bool {
	if h.Layer != 0 {
		return false
	}
	switch in.Builder {
	case history.BaseRootFS, history.Apko:
		return true
	}
	if in.Keyword != "ADD" || strings.TrimRight(in.Dest, "/") != "" {
		return false
	}
	if strings.HasPrefix(in.ContentHash, "file:") {
		return true
	}
	for _, s := range in.Source {
		if rootfsNameRe.MatchString(s) {
			return true
		}
	}
	return false
}

func rootFSWhat(in history.Instruction) string {
	switch in.Builder {
	case history.BaseRootFS, history.Apko:
		return in.Note
	}
	return oneLine(strings.TrimSuffix(strings.TrimSpace(in.Raw), " # buildkit"))
}

// fromComment explains the FROM line.
func (r *renderer) fromComment() string {
	f := r.from
	switch f.Kind {
	case "base":
		s := "FROM " + f.Ref + ": " + f.Evidence
		if f.FoldedLayers > 0 || f.FoldedEntries > 0 {
			s += fmt.Sprintf("\n%d base layers (%d history entries) folded into FROM", f.FoldedLayers, f.FoldedEntries)
		}
		return s
	case "scratch":
		if f.FoldedEntries > 0 || r.opts.Base != nil {
			return "FROM scratch: " + f.Evidence
		}
		return "FROM scratch: " + f.Evidence + "\nbase image not identified by name: any base image's own steps are included below"
	}
	return f.Evidence
}
