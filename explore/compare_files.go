package explore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// compareFiles is what compare mode needs to view and extract a path:
// both sources, the index store, and which side v and x act on. The
// diff itself reads only the divergent layers; viewing or extracting
// reads one side's whole file system (through the store, as `strata cat`
// and `extract` do), in an Image of its own that is dropped afterwards.
type compareFiles struct {
	srcA, srcB source.Source
	store      layerindex.Store
	side       string // "A" or "B"
	view       *viewer
	busy       string
	status     string
	prompting  bool
	prompt     textinput.Model
	extracting struct{ side, path string }
}

// sideOf is the image v and x read row c from: the chosen side, unless
// the path is absent there (added paths exist only in B, removed only in
// A).
func (m *compareModel) sideOf(c diff.FileChange) string {
	switch c.Kind {
	case diff.Added:
		return "B"
	case diff.Removed:
		return "A"
	}
	return m.side
}

func (m *compareModel) image(side string) *layerindex.Image {
	src := m.srcB
	if side == "A" {
		src = m.srcA
	}
	return layerindex.New(src, layerindex.Options{Store: m.store, FingerprintOnly: true})
}

func (m *compareModel) current() (diff.FileChange, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return diff.FileChange{}, false
	}
	return m.rows[m.cursor], true
}

// startView reads the selected path as the chosen side has it.
func (m *compareModel) startView() tea.Cmd {
	c, ok := m.current()
	if !ok {
		return nil
	}
	side, p := m.sideOf(c), strings.TrimPrefix(c.Path, "/")
	m.busy = fmt.Sprintf("reading %s from %s…", safetext.Line(c.Path), side)
	im, ctx, km := m.image(side), m.ctx, m.keys
	var other *layerindex.Image
	if c.Kind == diff.Written && c.Side != side {
		// Written over the shared base by the other side: this side
		// has it only if the base does, which the diff never read.
		other = m.image(c.Side)
	}
	return func() tea.Msg {
		v, err := readFinal(ctx, im, p, side+": /"+p, km)
		if errors.Is(err, errNotInImage) && other != nil {
			v, err = readFinal(ctx, other, p, fmt.Sprintf("%s: /%s (not in %s)", c.Side, p, side), km)
		}
		return viewMsg{v: v, err: err}
	}
}

var errNotInImage = errors.New("not in this image")

// readFinal opens path p of im's final file system in a viewer.
func readFinal(ctx context.Context, im *layerindex.Image, p, name string, km *keymap) (*viewer, error) {
	fsys, err := filelist.FinalFS(ctx, im)
	if err != nil {
		return nil, err
	}
	f, ok := fsys.Lookup(p)
	switch {
	case !ok:
		return nil, fmt.Errorf("/%s: %w", p, errNotInImage)
	case f.Type == layers.TypeSymlink:
		return nil, fmt.Errorf("/%s is a symlink to %s", p, f.Link)
	case f.Type != layers.TypeFile && f.Type != layers.TypeHardlink:
		return nil, fmt.Errorf("/%s is a %s, not a regular file", p, f.Type)
	}
	return viewFile(ctx, im, f, name, f.Size, km)
}

// startExtract asks where to write the selected path of the chosen side.
func (m *compareModel) startExtract() tea.Cmd {
	c, ok := m.current()
	if !ok {
		return nil
	}
	m.extracting.side, m.extracting.path = m.sideOf(c), strings.TrimPrefix(c.Path, "/")
	m.prompting = true
	m.prompt = textinput.New()
	m.prompt.Prompt = fmt.Sprintf("Extract %s of %s into directory: ", safetext.Line(c.Path), m.extracting.side)
	m.prompt.SetValue("strata-extract")
	m.prompt.CursorEnd()
	return m.prompt.Focus()
}

func (m *compareModel) promptKey(msg tea.KeyPressMsg) tea.Cmd {
	dir, cmd := askDir(&m.prompt, &m.prompting, &m.status, msg)
	if dir == "" {
		return cmd
	}
	side, p, ctx := m.extracting.side, m.extracting.path, m.ctx
	im := m.image(side)
	m.busy = fmt.Sprintf("extracting /%s from %s…", safetext.Line(p), side)
	return func() tea.Msg {
		return extractMsg{text: side + ": " + extractAt(ctx, im, p, len(im.Image.Layers)-1, dir)}
	}
}

// filesKey handles the keys of viewing and extracting; handled is false
// for keys the comparison's own list takes.
func (m *compareModel) filesKey(msg tea.KeyPressMsg) (cmd tea.Cmd, handled bool) {
	switch {
	case m.prompting:
		return m.promptKey(msg), true
	case m.view != nil:
		closed, cmd := m.view.key(m.keys, msg)
		if closed {
			m.view = nil
		}
		return cmd, true
	}
	m.status = ""
	switch m.keys.action(msg.String()) {
	case actSwitchPane:
		m.side = map[string]string{"A": "B", "B": "A"}[m.side]
		return nil, true
	case actView:
		return m.startView(), true
	case actExtract:
		return m.startExtract(), true
	}
	return nil, false
}

// filesMessage takes the results of view and extract.
func (m *compareModel) filesMessage(msg tea.Msg) {
	switch msg := msg.(type) {
	case viewMsg:
		m.busy = ""
		if msg.err != nil {
			m.status = "view: " + oneLine(msg.err.Error())
			return
		}
		m.view = msg.v
		m.view.resize(m.width, m.height)
	case extractMsg:
		m.busy, m.status = "", msg.text
	}
}
