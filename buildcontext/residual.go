package buildcontext

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/lineage"
)

// HowUnaccounted: files no step of the history accounts for.
const HowUnaccounted = "unaccounted"

// residual recovers files that no step of the history made, in an image
// FROM scratch whose history has no RUN: every file must then come from a
// COPY/ADD, so what none of them wrote came from steps the history lost
// (buildah --squash keeps only the last stage's entries, so the stage it
// was FROM disappears from the history while its files stay). They are
// placed at unaccounted/ and copied right below FROM. With a RUN in the
// history nothing can be said: a rebuild runs it again.
func (p *planner) residual(ctx context.Context, res *dockerfile.Result) error {
	if !p.residualApplies(res) {
		return nil
	}
	n := len(p.im.Image.Layers)
	if err := p.im.Load(ctx); err != nil {
		return err
	}
	fsys, err := p.im.Merge(n)
	if err != nil {
		return err
	}
	var left []layerindex.File
	for _, f := range fsys.Files() {
		if !p.accounted(f.Path) {
			left = append(left, f)
		}
	}
	if len(left) == 0 {
		return nil
	}
	s := &step{i: dockerfile.Prelude, in: history.Instruction{Keyword: "COPY"}, layer: -1, destOK: true}
	s.rep = StepReport{Keyword: "COPY", Layer: -1}
	for _, f := range left {
		if p.entries[f.Layer] == nil {
			p.entries[f.Layer] = layerEntries(p.im.Layer(f.Layer), f.Layer)
		}
	}
	dir := p.claims.free("unaccounted")
	items := p.tree(s, dir, copied{below: left})
	fresh, ok := p.claims.place(items, false)
	if !ok {
		return nil
	}
	s.note(fmt.Sprintf("%d path(s) in the image come from no step of its history (a squash, or a stage the history lost, made them); "+
		"they are in the context at %s/ and copied first", len(left), dir))
	p.commit(s, HowUnaccounted, items, fresh, []string{dir + "/"}, copied{below: left})
	s.rec.Dest = "/"
	p.finish(s)
	return nil
}

// residualApplies: FROM scratch, nothing folded into it, no RUN, and no
// layer that a non-Dockerfile entry made (a base root file system has its
// own stand-in).
func (p *planner) residualApplies(res *dockerfile.Result) bool {
	if res.From.FoldedEntries > 0 || res.From.Kind == lineage.KindBase {
		return false
	}
	layersSeen := false
	for _, rec := range res.Records {
		if rec.Parsed.Keyword == "RUN" || !rec.Parsed.IsStep() && rec.Layer != nil {
			return false
		}
		layersSeen = layersSeen || rec.Layer != nil
	}
	return layersSeen
}

// accounted: a COPY/ADD wrote the path (at or below its destination), or
// it is a directory on the way to one, or a WORKDIR.
func (p *planner) accounted(q string) bool {
	for _, s := range p.steps {
		if !s.destOK {
			continue
		}
		if s.dest == "" || q == s.dest || strings.HasPrefix(q, s.dest+"/") || strings.HasPrefix(s.dest, q+"/") {
			return true
		}
	}
	return p.workdirs[q]
}

func layerEntries(ix *layerindex.Index, l int) map[string]layerindex.File {
	m := make(map[string]layerindex.File, len(ix.Entries))
	for j := range ix.Entries {
		e := &ix.Entries[j]
		if e.Whiteout || e.Opaque {
			continue
		}
		m[e.Path] = layerindex.File{Entry: e, Layer: l, Ord: j}
	}
	return m
}
