package buildcontext

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// step is one COPY/ADD below FROM.
type step struct {
	i, num int
	in     history.Instruction
	layer  int
	shared bool
	// dest is the destination in the image, cleaned and relative ("" is
	// the root); destOK is false when it could not be resolved.
	dest   string
	destOK bool
	rep    StepReport
	rec    dockerfile.Recovered
}

// copied is what a step's layer holds at and below its destination.
type copied struct {
	top   *layerindex.File  // the entry at dest (nil: none, or dest is the root)
	below []layerindex.File // entries strictly below dest, in path order
}

// single: one non-directory was copied to dest itself.
func (c copied) single() bool { return c.top != nil && c.top.Type != layers.TypeDir }

func (c copied) empty() bool { return c.top == nil && len(c.below) == 0 }

// files lists the copied entries: the one at dest, or those below it.
func (c copied) files() []layerindex.File {
	if c.single() {
		return []layerindex.File{*c.top}
	}
	return c.below
}

func (p *planner) newStep(i, num int, in history.Instruction, workdir string) *step {
	l, shared := layerFor(p.im, i)
	s := &step{i: i, num: num, in: in, layer: l, shared: shared}
	s.dest, s.destOK = resolveDest(workdir, in.Dest)
	s.rep = StepReport{Step: num, Keyword: in.Keyword, Layer: l}
	return s
}

// recover decides how one step's sources come back, and places them.
func (p *planner) recover(ctx context.Context, s *step) error {
	defer p.finish(s)
	in := s.in
	if in.Unparsed || s.layer < 0 || !s.destOK {
		s.rep.How = HowLost
		s.note("the history does not say where the files went, or no layer holds them: not recovered")
		return nil
	}
	if urls(in.Source) {
		p.url(s)
		return nil
	}
	c := p.collect(s)
	if c.empty() {
		s.rep.How = HowNotFound
		s.note(fmt.Sprintf("layer %d holds nothing at %s: the sources are not recovered", s.layer, "/"+s.dest))
		return nil
	}
	if s.shared {
		s.note(fmt.Sprintf("no layer of its own (one commit for several steps): its files are read from layer %d, which holds other steps' changes too", s.layer))
	}
	switch {
	case heredocs(in.Source) != nil:
		return p.heredoc(ctx, s, c)
	case in.Keyword == "ADD" && extracted(in, c):
		p.archive(s, c)
	case in.ContentHash == "" && len(in.Source) > 0 && stageSource(in):
		p.stage(s, c)
	case in.ContentHash == "" && len(in.Source) > 0 && p.named(s, c):
	default:
		p.folder(s, c, "")
	}
	return nil
}

// finish records the step's report and what Render needs.
func (p *planner) finish(s *step) {
	if len(s.rec.Sources) > 0 || len(s.rec.Heredocs) > 0 || len(s.rec.Notes) > 0 {
		p.plan.Recovered[s.i] = s.rec
	}
	p.plan.Steps = append(p.plan.Steps, s.rep)
}

func (s *step) note(n string) {
	s.rec.Notes = append(s.rec.Notes, n)
	s.rep.Notes = append(s.rep.Notes, n)
}

// collect finds the entries at and below the step's destination in its
// layer. In a layer shared with later steps, paths a later COPY/ADD of
// the same layer writes at or below its own (deeper) destination are that
// step's, not this one's.
func (p *planner) collect(s *step) copied {
	var c copied
	for q, f := range p.entries[s.layer] {
		switch {
		case p.laterClaims(s, q):
		case q == s.dest && s.dest != "":
			f := f
			c.top = &f
		case s.dest == "" || strings.HasPrefix(q, s.dest+"/"):
			c.below = append(c.below, f)
		}
	}
	sort.Slice(c.below, func(i, j int) bool { return c.below[i].Path < c.below[j].Path })
	if c.single() {
		c.below = nil
	}
	return c
}

// laterClaims: in a shared layer, a later step of the same layer wrote q
// at or below a destination deeper than s's.
func (p *planner) laterClaims(s *step, q string) bool {
	if !s.shared {
		return false
	}
	for _, t := range p.steps {
		if t.i <= s.i || t.layer != s.layer || !t.destOK || t.dest == s.dest {
			continue
		}
		deeper := s.dest == "" || strings.HasPrefix(t.dest, s.dest+"/")
		if deeper && (q == t.dest || strings.HasPrefix(q, t.dest+"/")) {
			return true
		}
	}
	return false
}

// resolveDest makes a COPY destination absolute against the WORKDIR in
// effect, cleaned and relative to the image root. A destination with a
// variable or a Windows path is not resolved.
func resolveDest(workdir, dest string) (string, bool) {
	if dest == "" || strings.ContainsAny(dest, "$\\") || len(dest) > 1 && dest[1] == ':' {
		return "", false
	}
	if !path.IsAbs(dest) {
		dest = path.Join(workdir, dest)
	}
	return layers.CleanPath(dest), true
}

// joinWorkdir follows WORKDIR: an absolute path replaces, a relative one
// joins.
func joinWorkdir(cur, arg string) string {
	arg = strings.TrimSpace(arg)
	switch {
	case arg == "" || strings.Contains(arg, "$"):
		return cur
	case path.IsAbs(arg):
		return path.Clean(arg)
	}
	return path.Join(cur, arg)
}

var heredocRe = regexp.MustCompile(`^<<-?(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)$`)

// heredocs returns the names of a COPY heredoc's sources, nil unless
// every source is one.
func heredocs(src []string) []string {
	var out []string
	for _, s := range src {
		m := heredocRe.FindStringSubmatch(s)
		if m == nil || m[1] != m[3] {
			return nil
		}
		out = append(out, m[2])
	}
	return out
}

// urls: every source is remote (ADD fetched it; nothing to put in the
// context).
func urls(src []string) bool {
	for _, s := range src {
		if !strings.Contains(s, "://") && !strings.HasPrefix(s, "git@") {
			return false
		}
	}
	return len(src) > 0
}

// stageSource: BuildKit keeps a COPY --from's source path but drops the
// flag, and an absolute source path cannot be a context path; kaniko
// keeps the flag.
func stageSource(in history.Instruction) bool {
	if flagValue(in.Flags, "--from") != "" {
		return true
	}
	for _, s := range in.Source {
		if path.IsAbs(s) {
			return true
		}
	}
	return false
}

// archiveExt names what ADD unpacks, by the name BuildKit kept.
var archiveExt = regexp.MustCompile(`(?i)\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst)$`)

// extracted reports whether an ADD unpacked a local archive: a tree (not
// one file) where one source went, named like an archive or recorded as a
// single file's hash.
func extracted(in history.Instruction, c copied) bool {
	if c.single() || len(c.below) == 0 {
		return false
	}
	if in.ContentHash != "" {
		return strings.HasPrefix(in.ContentHash, "file:")
	}
	return len(in.Source) == 1 && archiveExt.MatchString(in.Source[0])
}

// flagValue returns the value of --name=value among flags.
func flagValue(flags []string, name string) string {
	for _, f := range flags {
		if k, v, ok := strings.Cut(f, "="); ok && k == name {
			return v
		}
	}
	return ""
}
