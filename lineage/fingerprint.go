package lineage

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/strata-tool/strata/image"
)

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
		s.Entries, s.Boundary = c+1, BoundaryGuessed
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
				s.Evidence = []string{fmt.Sprintf("history fingerprint: Ubuntu's build labels (step %d: version %s) precede the root file system", i+1, m[1])}
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
