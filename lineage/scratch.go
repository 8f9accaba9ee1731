package lineage

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

// scratchStart reports whether the image's bottom layer was written onto
// an empty file system, and why: its first step is a root file system
// (debuerreotype, apko, a Windows base layer, an archive ADDed to /), or
// every layer has a history entry and the first step to write files is a
// COPY/ADD no RUN precedes (nothing could have run on an empty file
// system). That is where the chain of images starts; whether this image
// itself is FROM scratch also depends on no ancestor showing above it.
func scratchStart(img *image.Image, ins []history.Instruction) (string, bool) {
	if first := firstStep(ins); first >= 0 && isRootFS(ins[first], img.History[first]) {
		return fmt.Sprintf("the first layer is its own root file system (%s)", rootFSWhat(ins[first])), true
	}
	if img.PairingProblem != "" || len(img.Layers) == 0 {
		return "", false
	}
	bottom := -1
	for i, h := range img.History {
		if h.Layer == 0 {
			bottom = i
			break
		}
	}
	for j := 0; j <= bottom; j++ {
		switch ins[j].Keyword {
		case "COPY", "ADD":
			if j == bottom {
				return "every layer has a history entry and the first one adds files to an empty file system", true
			}
			// buildah committing once records every step but the last
			// as empty; the layer holds them all.
			return fmt.Sprintf("every layer has a history entry, and the first step that writes files (step %d, %s) comes before any RUN, at or below the step that made the bottom layer (step %d): it wrote onto an empty file system", j+1, ins[j].Keyword, bottom+1), true
		case "RUN":
			return "", false
		}
	}
	return "", false
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

var rootfsArchiveRe = regexp.MustCompile(`(?i)(rootfs|minirootfs|\.tar(\.(gz|xz|bz2|zst))?$|\.tgz$)`)

// isRootFS: debuerreotype, apko, Windows base layers, or an ADD of an
// archive to / (`ADD file:… in /`, `ADD alpine-minirootfs….tar.gz /`).
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
		if rootfsArchiveRe.MatchString(s) {
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
	return strings.TrimSuffix(strings.TrimSpace(in.Raw), " # buildkit")
}
