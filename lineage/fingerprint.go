package lineage

import (
	"fmt"
	"regexp"
	"strings"

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

var (
	reDebuerreotype = regexp.MustCompile(`^# debian\.sh --arch '[^']+' out/ '([a-z]+)'`)
	reAlpine        = regexp.MustCompile(`ADD alpine-minirootfs-(\d+\.\d+(?:\.\d+)?)-[a-z0-9_]+\.tar\.gz /`)
	reAddFile       = regexp.MustCompile(`ADD file:[0-9a-f]{64} in / ?$`)
	reUbuntuVersion = regexp.MustCompile(`LABEL org\.opencontainers\.image\.version=(\d+\.\d+)`)
)

// rootfsName describes a base root file system step, "" if it is not one.
func rootfsName(createdBy string) string {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(createdBy), "# buildkit"))
	switch {
	case reDebuerreotype.MatchString(s):
		return "debuerreotype rootfs"
	case reAlpine.MatchString(s):
		return "alpine-minirootfs"
	case reAddFile.MatchString(s):
		return "ADD file:… in /"
	}
	return ""
}

// fingerprint guesses the base from the history's first steps, labelled
// as a guess; used only when nothing stronger says anything.
func fingerprint(img *image.Image) (Step, bool) {
	if len(img.History) == 0 || len(img.Layers) < 2 {
		return Step{}, false
	}
	first := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(img.History[0].CreatedBy), "# buildkit"))
	s := Step{Layers: 1, Signals: []string{SignalFingerprint}, Confidence: Guess}
	if c := closerIndex(img, 1); c >= 0 {
		s.Entries = c + 1
	}
	switch {
	case reDebuerreotype.MatchString(first):
		suite := reDebuerreotype.FindStringSubmatch(first)[1]
		s.Names = []Name{{Ref: "debian:" + suite}}
		s.Evidence = []string{fmt.Sprintf("history fingerprint: the first layer was made by debuerreotype (%q), Debian's official base image builder, for suite %s", first, suite)}
	case reAlpine.MatchString(first):
		v := reAlpine.FindStringSubmatch(first)[1]
		s.Names = []Name{{Ref: "alpine:" + v}}
		s.Evidence = []string{fmt.Sprintf("history fingerprint: the first layer is Alpine's minirootfs %s", v)}
	default:
		// Ubuntu's Launchpad build writes ARG RELEASE and a version label
		// before its ADD file.
		for i, h := range img.History {
			if h.Layer >= 0 {
				break
			}
			if m := reUbuntuVersion.FindStringSubmatch(h.CreatedBy); m != nil {
				s.Names = []Name{{Ref: "ubuntu:" + m[1]}}
				s.Evidence = []string{fmt.Sprintf("history fingerprint: Ubuntu's build labels (entry %d: version %s) precede the root file system", i, m[1])}
			}
		}
		if len(s.Names) == 0 {
			if !reAddFile.MatchString(first) {
				return Step{}, false
			}
			s.Unknown = true
			s.Evidence = []string{"history fingerprint: the first layer is a root file system added with ADD file:… in / — a distribution base image (Debian, Ubuntu, BusyBox, Alpine…), which one is not known"}
		}
	}
	return s, true
}
