package buildcontext

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// named places the sources BuildKit named at those context paths: one
// file copied to dest, one directory whose contents dest holds, or
// several files copied into dest. False when the names do not fit (a
// wildcard, ".", a name already taken by other content): the caller then
// uses a per-step folder.
func (p *planner) named(s *step, c copied) bool {
	var names []string
	for _, src := range s.in.Source {
		n, ok := contextName(src)
		if !ok {
			return false
		}
		names = append(names, n)
	}
	var items []Placed
	switch {
	case c.single() && len(names) == 1 && c.top.Type != layers.TypeSymlink:
		items = []Placed{p.item(s, names[0], *c.top)}
	case !c.single() && len(names) == 1 && !p.oneFileNamed(c, s.dest, names[0]):
		items = p.tree(s, names[0], c)
	case !c.single():
		// Several sources (or one file) copied into a directory: each
		// must be a file directly below dest, and nothing else there.
		if len(c.below) != len(names) {
			return false
		}
		for _, n := range names {
			f, ok := p.entries[s.layer][layers.Join(s.dest, path.Base(n))]
			if !ok || f.Type != layers.TypeFile {
				return false
			}
			items = append(items, p.item(s, n, f))
		}
	default:
		return false
	}
	fresh, ok := p.claims.place(items, s.chmodFlag())
	if !ok {
		return false
	}
	srcs := make([]string, len(names))
	for i, n := range names {
		srcs[i] = n
		if !c.single() && len(names) == 1 && !p.oneFileNamed(c, s.dest, n) {
			srcs[i] = n + "/"
		}
	}
	p.commit(s, HowNamed, items, fresh, srcs, c)
	return true
}

// oneFileNamed: the only thing below dest is one regular file named like
// the source, so the source was that file (copied into the directory).
func (p *planner) oneFileNamed(c copied, dest, name string) bool {
	return len(c.below) == 1 && c.below[0].Path == layers.Join(dest, path.Base(name)) && c.below[0].Type == layers.TypeFile
}

// folder places the step's files in a folder of its own, named after the
// step and where the files went, and copies the folder (or the one file
// in it) to dest.
func (p *planner) folder(s *step, c copied, why string) {
	base := fmt.Sprintf("step-%d-%s", s.num, slug(s.dest, c.single()))
	dir := p.claims.free(base)
	var items []Placed
	var src string
	if c.single() && c.top.Type != layers.TypeSymlink {
		src = dir + "/" + path.Base(s.dest)
		items = []Placed{p.item(s, src, *c.top)}
	} else if c.single() {
		// COPY follows a symlink named as a source: carry the link inside
		// a folder copied into its parent instead.
		src = dir + "/"
		items = []Placed{p.item(s, dir+"/"+path.Base(s.dest), *c.top)}
		s.rec.Dest = "/" + layers.Parent(s.dest) + "/"
		if layers.Parent(s.dest) == "" {
			s.rec.Dest = "/"
		}
	} else {
		src = dir + "/"
		items = p.tree(s, dir, c)
	}
	fresh, ok := p.claims.place(items, s.chmodFlag())
	if !ok {
		s.rep.How = HowLost
		s.note("the context has no free place for this step's files: not recovered")
		return
	}
	if why == "" {
		why = p.folderWhy(s)
	}
	s.note(fmt.Sprintf("files recovered from layer %d into the context at %s: %s", s.layer, src, why))
	p.commit(s, HowFolder, items, fresh, []string{src}, c)
}

func (p *planner) folderWhy(s *step) string {
	switch {
	case s.in.ContentHash != "":
		h := s.in.ContentHash
		return "the history keeps only a content hash (" + h[:min(len(h), 18)] + "…), as it does for a COPY --from, whose stage would be lost"
	case len(s.in.Source) > 0:
		return "the sources the history names (" + strings.Join(s.in.Source, " ") + ") do not fit the context as they are"
	}
	return "the history names no sources"
}

// stage places files a COPY --from brought in, under from-stage/ at the
// path the history names.
func (p *planner) stage(s *step, c copied) {
	name := p.stages[stageKey(s.in.Source, s.in.Dest)]
	if name == "" {
		name = flagValue(s.in.Flags, "--from")
	}
	what := "another build stage or image"
	if name != "" {
		what = fmt.Sprintf("build stage %q", name)
	}
	lost := "COPY --from=" + orQ(name) + ": the files came from " + what + ", whose steps are not in this image (the history keeps no --from)"
	if len(s.in.Source) != 1 {
		p.folder(s, c, lost)
		s.rep.How = HowStage
		return
	}
	n, _ := contextName(strings.TrimPrefix(s.in.Source[0], "/"))
	if n == "" || c.single() && c.top.Type == layers.TypeSymlink {
		p.folder(s, c, lost)
		s.rep.How = HowStage
		return
	}
	ctxPath := "from-stage/" + n
	var items []Placed
	src := ctxPath
	if c.single() {
		items = []Placed{p.item(s, ctxPath, *c.top)}
	} else {
		items, src = p.tree(s, ctxPath, c), ctxPath+"/"
	}
	fresh, ok := p.claims.place(items, s.chmodFlag())
	if !ok {
		p.folder(s, c, lost)
		s.rep.How = HowStage
		return
	}
	s.note(fmt.Sprintf("files recovered from layer %d into the context at %s: %s", s.layer, src, lost))
	p.commit(s, HowStage, items, fresh, []string{src}, c)
}

func orQ(s string) string {
	if s == "" {
		return "<stage>"
	}
	return s
}

// archive: ADD unpacked a local archive. The archive is gone; its
// extracted tree is copied instead.
func (p *planner) archive(s *step, c copied) {
	s.rec.Keyword = "COPY"
	p.folder(s, c, "ADD extracted a local archive here; the archive itself is not recoverable, so the extracted tree is copied instead")
	if s.rep.How == HowFolder {
		s.rep.How = HowArchive
	}
}

// url keeps an ADD of a URL; BuildKit can check what it fetches against
// the one file the layer holds.
func (p *planner) url(s *step) {
	s.rep.How = HowURL
	s.rec.Sources = s.in.Source
	flags := keepFlags(s.in.Flags, "--chown", "--chmod", "--link", "--checksum", "--keep-git-dir")
	c := p.collect(s)
	if f := c.top; f != nil && f.Type == layers.TypeFile && f.Digest != "" && len(s.in.Source) == 1 &&
		flagValue(flags, "--checksum") == "" && s.in.Builder == "buildkit" && !strings.HasPrefix(s.in.Source[0], "git") {
		flags = append(flags, "--checksum="+f.Digest)
		s.note("ADD of a URL: a rebuild fetches it again over the network; --checksum is the sha256 of the file layer " + fmt.Sprint(s.layer) + " holds")
	} else {
		s.note("ADD of a URL: a rebuild fetches it again over the network, and what it gets may differ")
	}
	s.rec.Flags = flags
}

// heredoc fills a COPY heredoc's bodies from the files the layer holds;
// a body a Dockerfile cannot carry goes into a per-step folder instead.
func (p *planner) heredoc(ctx context.Context, s *step, c copied) error {
	var docs []dockerfile.Heredoc
	for _, name := range heredocs(s.in.Source) {
		f := c.top
		if !c.single() || len(s.in.Source) > 1 {
			g, ok := p.entries[s.layer][layers.Join(s.dest, name)]
			f = &g
			if !ok {
				f = nil
			}
		}
		if f == nil || f.Type != layers.TypeFile || f.Size > 16<<10 {
			p.folder(s, c, "the heredoc's file is not one the Dockerfile can carry inline")
			return nil
		}
		body, err := p.read(ctx, *f)
		if err != nil {
			return err
		}
		if !dockerfile.HeredocOK(name, body) {
			p.folder(s, c, "the heredoc's file is not text the Dockerfile can carry inline")
			return nil
		}
		docs = append(docs, dockerfile.Heredoc{Name: name, Body: body})
	}
	s.rep.How = HowHeredoc
	s.rec.Heredocs = docs
	s.rec.Flags = p.flags(s, c)
	s.note("heredoc body filled in from the file layer " + fmt.Sprint(s.layer) + " holds (the history does not record it)")
	for _, f := range c.files() {
		s.rep.Files++
		s.rep.Bytes += f.Size
	}
	return nil
}

func (p *planner) read(ctx context.Context, f layerindex.File) (string, error) {
	rc, err := p.im.Open(ctx, f)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// commit records the step's rewritten sources and the items placed for
// it (fresh: those no earlier step placed already).
func (p *planner) commit(s *step, how string, items, fresh []Placed, srcs []string, c copied) {
	s.rep.How = how
	s.rep.Paths = srcs
	for _, it := range items {
		if it.Entry.Type == layers.TypeFile {
			s.rep.Files++
			s.rep.Bytes += it.Entry.Size
		}
	}
	for _, it := range fresh {
		if it.Entry.Type == layers.TypeFile {
			p.plan.Bytes += it.Entry.Size
		}
	}
	p.plan.Files = append(p.plan.Files, fresh...)
	s.rec.Sources = srcs
	s.rec.Flags = p.flags(s, c)
}
