package explore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/unpack"
)

// viewLimit bounds what the viewer reads of one file: memory follows the
// screen, not the file (the rest is said to be left out).
const viewLimit = 4 << 20

type (
	viewMsg struct {
		v   *viewer
		err error
	}
	extractMsg struct{ text string }
)

// fresh is an Image of its own for one action: the full indexes it loads
// (from the cache) are dropped with it, so the explorer's memory stays the
// path table's.
func (m *Model) fresh() *layerindex.Image {
	if m.newImage != nil {
		return m.newImage()
	}
	return m.im
}

// startView reads the selected file in the background.
func (m *Model) startView() tea.Cmd {
	id := m.selected()
	if id <= 0 {
		return nil
	}
	e := m.st.entry(m.t, id)
	p := m.t.path(id)
	switch {
	case m.st.st[id] == stRemoved:
		m.status = "removed by this layer: select a layer below to view it"
		return nil
	case e != nil && e.typ == layers.TypeSymlink:
		m.status = "a symlink to " + safetext.Line(m.t.links[linkKey(id, e.layer)])
		return nil
	case !isRegular(e):
		m.status = safetext.Line(p) + " is not a regular file"
		return nil
	}
	m.busy = "reading " + safetext.Line(p) + "…"
	ev := *e
	ctx := m.ctx
	return func() tea.Msg {
		v, err := m.readFile(ctx, p, ev)
		return viewMsg{v: v, err: err}
	}
}

// readFile opens one file through a fresh index: its layer (and, for a
// hardlink, the layers below it that may hold the target).
func (m *Model) readFile(ctx context.Context, p string, e event) (*viewer, error) {
	im := m.fresh()
	l := int(e.layer)
	which := []int{l}
	if e.typ == layers.TypeHardlink {
		which = which[:0]
		for i := 0; i <= l; i++ {
			which = append(which, i)
		}
	}
	if err := im.Load(ctx, which...); err != nil {
		return nil, err
	}
	ix := im.Layer(l)
	if ix == nil || int(e.ord) >= len(ix.Entries) || ix.Entries[e.ord].Path != p {
		return nil, fmt.Errorf("%s: the layer index changed under the explorer", p)
	}
	return viewFile(ctx, im, layerindex.File{Entry: &ix.Entries[e.ord], Layer: l, Ord: int(e.ord)}, p, e.size, m.keys)
}

// viewFile reads f (at most viewLimit bytes of it) into a viewer titled
// name; size is the file's whole size, for the title.
func viewFile(ctx context.Context, im *layerindex.Image, f layerindex.File, name string, size int64, km *keymap) (*viewer, error) {
	rc, err := im.Open(ctx, f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, viewLimit))
	if err != nil {
		return nil, err
	}
	return newViewer(name, data, max(size, int64(len(data))), km), nil
}

// startExtract asks where to write the selected path.
func (m *Model) startExtract() {
	id := m.selected()
	if id <= 0 {
		return
	}
	if m.st.st[id] == stRemoved {
		m.status = "removed by this layer: nothing to extract here"
		return
	}
	m.extractID = id
	m.prompting = true
	m.prompt.Prompt = "Extract " + safetext.Line(m.t.path(id)) + " into directory: "
	m.prompt.SetValue("strata-extract")
	m.prompt.CursorEnd()
	m.prompt.Focus()
}

func (m *Model) promptKey(msg tea.KeyPressMsg) tea.Cmd {
	dir, cmd := askDir(&m.prompt, &m.prompting, &m.status, msg)
	if dir == "" {
		return cmd
	}
	p, layer, ctx := m.t.path(m.extractID), m.shownLayer(), m.ctx
	m.busy = "extracting " + safetext.Line(p) + "…"
	return func() tea.Msg { return extractMsg{text: m.extract(ctx, p, layer, dir)} }
}

// askDir takes a key of the "into directory" prompt: Enter ends it with
// the directory, Esc (or Enter on nothing) ends it with a status saying
// why; dir is "" until there is one to write into.
func askDir(prompt *textinput.Model, prompting *bool, status *string, msg tea.KeyPressMsg) (dir string, cmd tea.Cmd) {
	switch msg.String() {
	case "esc":
		*prompting, *status = false, "extract cancelled"
	case "enter":
		*prompting = false
		if dir = prompt.Value(); dir == "" {
			*status = "extract cancelled: no directory"
		}
	default:
		*prompt, cmd = prompt.Update(msg)
	}
	return dir, cmd
}

// extract writes one path as the tree has it at a layer, through the same
// safe writer and checks as `strata extract`: contained in dir, no symlink
// followed, no device nodes, setuid/setgid dropped, sizes checked first.
func (m *Model) extract(ctx context.Context, p string, layer int, dir string) string {
	return extractAt(ctx, m.fresh(), p, layer, dir)
}

// extractAt is extract on im's file system as of layer.
func extractAt(ctx context.Context, im *layerindex.Image, p string, layer int, dir string) string {
	fail := func(err error) string { return "extract: " + oneLine(err.Error()) }
	which := make([]int, layer+1)
	for i := range which {
		which[i] = i
	}
	if err := im.Load(ctx, which...); err != nil {
		return fail(err)
	}
	fsys, err := im.Merge(layer + 1)
	if err != nil {
		return fail(err)
	}
	sel, err := fsys.Select(p)
	if err != nil {
		return fail(err)
	}
	if free, err := unpack.Free(dir); err == nil && sel.Bytes > free {
		return fail(fmt.Errorf("%s of content and %s has %s free; nothing written", humanize.Bytes(sel.Bytes), dir, humanize.Bytes(free)))
	}
	w, err := unpack.Create(dir, unpack.Options{Owners: os.Geteuid() == 0})
	if err != nil {
		return fail(err)
	}
	rep, err := im.Extract(ctx, fsys, sel, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	s := fmt.Sprintf("wrote %s (%s), %d directories and %s of %s into %s", count(rep.Files, "file"),
		humanize.Bytes(rep.Bytes), rep.Dirs, count(rep.Links, "link"), safetext.Line(path.Base("/"+p)), safetext.Line(dir))
	if n := len(rep.Refused); n > 0 {
		s += fmt.Sprintf("; %d refused as unsafe (first: %s: %s)", n, safetext.Line(rep.Refused[0].Path), rep.Refused[0].Reason)
	}
	if n := len(rep.Skipped); n > 0 {
		s += fmt.Sprintf("; %d skipped (device nodes)", n)
	}
	return s
}
