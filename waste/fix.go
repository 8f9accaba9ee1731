package waste

import (
	"fmt"
	"strings"
)

// where names a layer as a user finds it: its step, else its index.
func (a *Analyzer) where(layer int32) string {
	if s := a.stepOf(layer); s > 0 {
		return fmt.Sprintf("step %d", s)
	}
	return fmt.Sprintf("layer %d", layer)
}

// wheres names layers as "step 3", "steps 3, 6" (or by layer index).
func (a *Analyzer) wheres(ls []int32) string {
	steps, idx := a.steps(ls)
	if len(steps) < len(idx) && len(steps) == 0 {
		return StepList(nil, idx)
	}
	return StepList(steps, idx)
}

// copies reports whether every shipping step is a COPY or ADD.
func (a *Analyzer) copies(ls []int32) bool {
	for _, l := range ls {
		ins := a.info[l].instruction
		if !strings.HasPrefix(ins, "COPY ") && !strings.HasPrefix(ins, "ADD ") {
			return false
		}
	}
	return len(ls) > 0
}

// fix says, concretely, how the finding's bytes would not have shipped.
func (a *Analyzer) fix(f Finding, shipped []int32) string {
	from, by := a.wheres(shipped), a.where(int32(f.Layer))
	switch f.Cause {
	case Deleted:
		switch {
		case f.Cache != "":
			return fmt.Sprintf("%s: removing the %s cache in %s is too late, %s already shipped it", cacheFix(f.Cache), f.Cache, by, from)
		case a.copies(shipped):
			return fmt.Sprintf("leave these files out of the COPY/ADD of %s (a narrower source or .dockerignore) instead of removing them in %s", from, by)
		}
		return fmt.Sprintf("remove the files in the same RUN that creates them (%s), or create them in a build stage and COPY only what the image needs (multi-stage): removing them in %s hides them, but the layers of %s still ship them", from, by, from)
	case Overwritten:
		return fmt.Sprintf("write the final content in %s, or make %s's change in the same RUN: every step that rewrites a file ships a whole new copy", from, by)
	case MetadataOnly:
		if a.copies(shipped) {
			return fmt.Sprintf("set mode and owner as %s copies the files (COPY --chmod/--chown): %s re-ships every file whose mode, owner or time it changes", from, by)
		}
		return fmt.Sprintf("set mode and owner in the RUN that creates the files (%s), or COPY --chmod/--chown: %s re-ships every file whose mode, owner or time it changes", from, by)
	case Replaced:
		return fmt.Sprintf("create the path in its final form: %s ships files that %s replaces with a directory, link or file", from, by)
	case DuplicateEntry:
		return fmt.Sprintf("the layer of %s lists these paths twice and only the last entry shows: a builder or archiving quirk; rebuild the layer with one entry per path", by)
	}
	return ""
}
