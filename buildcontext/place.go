package buildcontext

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// item is one image file at a context path. A hardlink becomes a copy of
// the file it names (tree links hardlinks within one tree).
func (p *planner) item(s *step, ctxPath string, f layerindex.File) Placed {
	e := f.Entry.Entry
	e.Path = ctxPath
	if e.Type == layers.TypeHardlink {
		if t, ok := p.entries[f.Layer][e.Link]; ok && t.Type == layers.TypeFile {
			e.Type, e.Link, e.Size, e.Digest, f = layers.TypeFile, "", t.Size, t.Digest, t
		}
	}
	return Placed{Entry: e, From: f, Step: s.num}
}

// tree places everything below dest under root; root itself takes dest's
// own mode when the layer holds it. Device nodes and FIFOs cannot be in a
// build context.
func (p *planner) tree(s *step, root string, c copied) []Placed {
	rootEntry := layers.Entry{Path: root, Type: layers.TypeDir, Mode: 0o755}
	if c.top != nil && c.top.Type == layers.TypeDir {
		rootEntry.Mode = c.top.Mode
	}
	out := []Placed{{Entry: rootEntry, Step: s.num, root: true}}
	prefix := s.dest + "/"
	if s.dest == "" {
		prefix = ""
	}
	skipped, orphans := 0, 0
	for _, f := range c.below {
		if p.orphan(f) {
			// Below a symlink or file of the same layer: no file system
			// holds it, and writing it would mean following the link.
			orphans++
			continue
		}
		rel := strings.TrimPrefix(f.Path, prefix)
		switch f.Type {
		case layers.TypeFile, layers.TypeDir, layers.TypeSymlink:
			out = append(out, p.item(s, root+"/"+rel, f))
		case layers.TypeHardlink:
			// A link to a file of the same tree stays a link; to one
			// elsewhere in the layer, a copy (item); to nothing the layer
			// holds, nothing.
			it := p.item(s, root+"/"+rel, f)
			if t, ok := p.entries[f.Layer][f.Link]; ok && t.Type == layers.TypeFile && strings.HasPrefix(f.Link, prefix) {
				it.Entry.Type, it.Entry.Link, it.From = layers.TypeHardlink, root+"/"+strings.TrimPrefix(f.Link, prefix), layerindex.File{}
			} else if it.Entry.Type == layers.TypeHardlink {
				skipped++
				continue
			}
			out = append(out, it)
		default:
			skipped++
		}
	}
	if orphans > 0 {
		s.note(fmt.Sprintf("%d path(s) below a symlink or file of the same layer are left out: no file system holds them", orphans))
	}
	if skipped > 0 {
		s.note(fmt.Sprintf("%d device node(s), FIFO(s) or dangling hardlink(s) below %s cannot be in a build context: left out", skipped, "/"+s.dest))
	}
	return out
}

// orphan: a parent of f in its layer is not a directory.
func (p *planner) orphan(f layerindex.File) bool {
	for q := layers.Parent(f.Path); q != ""; q = layers.Parent(q) {
		if e, ok := p.entries[f.Layer][q]; ok && e.Type != layers.TypeDir {
			return true
		}
	}
	return false
}

// flags are the step's flags for a context copy: the history's own that
// still apply, and --chown/--chmod recovered from the tar headers.
func (p *planner) flags(s *step, c copied) []string {
	out := keepFlags(s.in.Flags, "--chown", "--chmod", "--link")
	files := c.files()
	if len(files) == 0 {
		return out
	}
	if flagValue(out, "--chown") == "" {
		uid, gid, same := files[0].UID, files[0].GID, true
		root := true
		for _, f := range files {
			same = same && f.UID == uid && f.GID == gid
			root = root && f.UID == 0 && f.GID == 0
		}
		switch {
		case same && !root:
			out = append(out, fmt.Sprintf("--chown=%d:%d", uid, gid))
			s.note(fmt.Sprintf("--chown=%d:%d recovered from layer %d: every file this step copied is owned by %d:%d (the history does not record --chown)", uid, gid, s.layer, uid, gid))
		case !root:
			s.note("the copied files have several owners: one --chown cannot give them back, so the rebuilt files are owned by root")
		}
	}
	if flagValue(out, "--chmod") == "" {
		out = p.chmod(s, files, out)
	}
	return out
}

// chmod: the context files carry their modes, except setuid/setgid bits
// when the context is written safely; where the step's files share one
// mode, --chmod gives those back. A uniform mode a plain copy would not
// usually have is said to be recovered.
func (p *planner) chmod(s *step, files []layerindex.File, out []string) []string {
	mode, same, special := uint32(0), true, 0
	first := true
	for _, f := range files {
		if f.Type == layers.TypeSymlink {
			continue
		}
		if first {
			mode, first = f.Mode&0o7777, false
		}
		same = same && f.Mode&0o7777 == mode
		if f.Mode&0o6000 != 0 {
			special++
		}
	}
	canChmod := s.in.Builder == history.BuildKit || s.in.Builder == history.Buildah || s.in.Builder == history.Kaniko
	switch {
	case first:
	case special > 0 && !p.opts.PreserveSpecial && same && canChmod:
		out = append(out, fmt.Sprintf("--chmod=%04o", mode))
		s.note(fmt.Sprintf("--chmod=%04o recovered from layer %d: it gives back the setuid/setgid bits the build context leaves out", mode, s.layer))
	case special > 0 && !p.opts.PreserveSpecial:
		s.note(fmt.Sprintf("%d copied file(s) have setuid/setgid bits, which the build context leaves out (--preserve-special keeps them)", special))
	case same && canChmod && unusualMode(mode, files):
		s.note(fmt.Sprintf("every file this step copied has mode %04o, which the context carries (recovered from layer %d; the history keeps no --chmod: the build may have used --chmod=%04o)", mode, s.layer, mode))
	}
	return out
}

// unusualMode: not what files copied from a checkout usually have.
func unusualMode(mode uint32, files []layerindex.File) bool {
	for _, f := range files {
		if f.Type == layers.TypeDir {
			return mode != 0o755
		}
	}
	return mode != 0o644 && mode != 0o755
}

// keepFlags keeps the flags named.
func keepFlags(flags []string, names ...string) []string {
	out := []string{}
	for _, f := range flags {
		k, _, _ := strings.Cut(f, "=")
		for _, n := range names {
			if k == n {
				out = append(out, f)
			}
		}
	}
	return out
}

// chmodFlag: the step sets its files' mode itself, so a context file
// shared with another step may have another mode.
func (s *step) chmodFlag() bool { return flagValue(s.in.Flags, "--chmod") != "" }

// contextName turns a source the history names into a context path: a
// clean relative path with no wildcard, variable, escape or control
// character ("" when it is none).
func contextName(src string) (string, bool) {
	n := strings.TrimSuffix(strings.TrimPrefix(src, "./"), "/")
	if n == "" || n == "." || layers.CleanPath(n) != n || strings.ContainsAny(n, "*?[$\\\"'`") || !safetext.Safe(n) || strings.ContainsAny(n, "\r\n\t") {
		return "", false
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." || c == "." {
			return "", false
		}
	}
	return n, true
}

var slugBad = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// slug names a per-step folder after where the files went: the
// destination directory (a file's parent), "root" for /.
func slug(dest string, file bool) string {
	d := dest
	if file {
		d = layers.Parent(dest)
	}
	if d == "" {
		return "root"
	}
	s := strings.Trim(slugBad.ReplaceAllString(strings.ReplaceAll(d, "/", "-"), "_"), "-.")
	if len(s) > 40 {
		s = s[:40]
	}
	if s == "" {
		return "files"
	}
	return s
}

// stageNames reads, from a recorded Dockerfile, the stage each COPY
// --from read, keyed by its sources and destination.
func stageNames(text string) map[string]string {
	out := map[string]string{}
	if text == "" {
		return out
	}
	stages, _, err := dockerfile.Parse(text)
	if err != nil {
		return out
	}
	for _, st := range stages {
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				out[stageKey(cp.SourcePaths, cp.DestPath)] = cp.From
			}
		}
	}
	return out
}

func stageKey(src []string, dest string) string {
	return strings.Join(src, "\x00") + "\x00" + dest
}

// claims keeps the context's paths consistent across steps: one path, one
// content; a directory one step copies whole gets nothing from another.
type claims struct {
	at    map[string]layers.Entry
	roots map[string]bool
}

func newClaims() *claims { return &claims{at: map[string]layers.Entry{}, roots: map[string]bool{}} }

// reserved are context names the context's own files take.
var reserved = map[string]bool{"dockerfile": true, ".dockerignore": true}

// place claims the items' paths if they fit, returning the items still
// to write (a file another step placed with the same content is shared).
func (c *claims) place(items []Placed, modeFree bool) ([]Placed, bool) {
	var fresh []Placed
	for _, it := range items {
		p := it.Entry.Path
		top, _, _ := strings.Cut(p, "/")
		if reserved[strings.ToLower(top)] {
			return nil, false
		}
		for q := layers.Parent(p); q != ""; q = layers.Parent(q) {
			if e, ok := c.at[q]; ok && e.Type != layers.TypeDir || c.roots[q] {
				return nil, false
			}
		}
		e, ok := c.at[p]
		switch {
		case it.root && (ok || c.under(p)):
			return nil, false
		case !ok:
			fresh = append(fresh, it)
		case e.Type != it.Entry.Type || e.Digest != it.Entry.Digest || e.Link != it.Entry.Link:
			return nil, false
		case e.Type != layers.TypeDir && e.Mode != it.Entry.Mode && !modeFree:
			return nil, false
		}
	}
	for _, it := range fresh {
		c.at[it.Entry.Path] = it.Entry
		for q := layers.Parent(it.Entry.Path); q != ""; q = layers.Parent(q) {
			if _, ok := c.at[q]; !ok {
				c.at[q] = layers.Entry{Path: q, Type: layers.TypeDir, Mode: 0o755}
			}
		}
	}
	for _, it := range items {
		if it.root {
			c.roots[it.Entry.Path] = true
		}
	}
	return fresh, true
}

func (c *claims) under(p string) bool {
	for q := range c.at {
		if strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

// free returns base, or base-2, base-3… when base is taken.
func (c *claims) free(base string) string {
	name := base
	for n := 2; ; n++ {
		if _, ok := c.at[name]; !ok && !c.under(name) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, n)
	}
}

// sortPlaced orders the context parents first.
func sortPlaced(ps []Placed) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Entry.Path < ps[j].Entry.Path })
}
