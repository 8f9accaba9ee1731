package explore

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

type pane int

const (
	paneLayers pane = iota
	paneTree
)

type overlay int

const (
	ovNone overlay = iota
	ovHelp
	ovWaste
	ovViewer
)

// layerInfo is what the layers pane knows of a layer before and after it
// is indexed.
type layerInfo struct {
	how     layerindex.How
	tarSize int64
}

// Model is the explorer of one image. It is a Bubble Tea model: every
// change comes in as a message, so tests drive it without a terminal.
type Model struct {
	ctx  context.Context
	ref  string
	im   *layerindex.Image
	keys *keymap

	t      *table
	info   []layerInfo
	failed error
	report *waste.Report
	base   *waste.Base
	notes  []string

	width, height int
	focus         pane
	layer         int // the selected layer
	layerTop      int
	hideBase      bool
	// compareAll marks what every layer above the first (above the base
	// image's, with its layers hidden) changed, not the selected layer
	// alone: dive's Ctrl+A / Ctrl+L in the layers pane.
	compareAll bool

	st        *state
	rows      []row
	cursor    int
	top       int
	collapsed []bool
	sh        shown
	attrs     bool
	sized     bool
	stale     bool // the rows must be rebuilt

	filtering bool
	filter    textinput.Model
	prompting bool
	prompt    textinput.Model
	ov        overlay
	view      *viewer
	wasteRow  int
	status    string
	busy      string
	mouse     bool
	extractID nodeID
	// newImage opens a fresh layerindex.Image on the same source, for
	// view and extract.
	newImage func() *layerindex.Image
}

// newModel makes the explorer of an opened image; nothing is indexed yet.
func newModel(ctx context.Context, ref string, im *layerindex.Image, keys *keymap) *Model {
	m := &Model{ctx: ctx, ref: ref, im: im, keys: keys, t: newTable(),
		info: make([]layerInfo, len(im.Image.Layers)), width: 80, height: 24, attrs: true, stale: true}
	m.filter = textinput.New()
	m.filter.Prompt = "Filter: "
	m.filter.CharLimit = 4096
	m.prompt = textinput.New()
	m.prompt.CharLimit = 4096
	if n := len(im.Image.Layers); n > 0 {
		m.layer = n - 1
	}
	return m
}

// Init starts nothing: Run starts the loaders, which send messages.
func (m *Model) Init() tea.Cmd { return nil }

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		if !m.sized {
			// Attributes (mode, owner) leave a narrow tree little room:
			// shown from 120 columns, Ctrl+B toggles them.
			m.sized, m.attrs = true, m.width >= 120
		}
		m.clampScroll()
		if m.view != nil {
			m.view.resize(m.width, m.height)
		}
	case layerMsg:
		m.addLayer(msg)
	case loadedMsg:
		m.report = msg.report
		if m.base != nil {
			m.report.Rebase(*m.base)
		}
		m.t.done()
	case baseMsg:
		b := msg.base
		m.base, m.notes = &b, append(m.notes, msg.notes...)
		if m.report != nil {
			m.report.Rebase(b)
		}
	case failMsg:
		m.failed = msg.err
		m.busy = ""
	case viewMsg:
		m.busy = ""
		if msg.err != nil {
			m.status = "view: " + oneLine(msg.err.Error())
		} else {
			m.view = msg.v
			m.view.resize(m.width, m.height)
			m.ov = ovViewer
		}
	case extractMsg:
		m.busy = ""
		m.status = msg.text
	case tea.MouseWheelMsg:
		if msg.Button == tea.MouseWheelUp {
			return m, m.act(actUp)
		}
		return m, m.act(actDown)
	case tea.MouseClickMsg:
		m.click(msg.Mouse())
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

// addLayer puts a newly indexed layer into the tree; the selected layer
// follows the top of what is loaded until the user picks one.
func (m *Model) addLayer(msg layerMsg) {
	i := msg.b.layer
	m.t.add(msg.b)
	m.info[i] = layerInfo{how: msg.how, tarSize: msg.tarSize}
	if n := len(m.t.nodes); len(m.collapsed) < n {
		m.collapsed = append(m.collapsed, make([]bool, n-len(m.collapsed))...)
	}
	if i <= m.layer {
		m.stale = true
	}
}

// loading reports whether layers are still being indexed.
func (m *Model) loading() bool { return m.t.layers < len(m.info) && m.failed == nil }

// shownLayer is the layer whose tree can be shown now: the selected one,
// or the top loaded one while the selected one is still being indexed.
func (m *Model) shownLayer() int { return min(m.layer, m.t.layers-1) }

// compareBase is the layer the tree as of layer l is marked against.
func (m *Model) compareBase(l int) int {
	if !m.compareAll {
		return l - 1
	}
	base := 0
	if m.hideBase && m.base != nil && m.base.Layers > 0 {
		base = m.base.Layers - 1
	}
	return min(base, l-1)
}

// rebuild recomputes the tree state and rows when something changed.
func (m *Model) rebuild() {
	if !m.stale {
		return
	}
	m.stale = false
	l := m.shownLayer()
	if l < 0 {
		m.st, m.rows = nil, nil
		return
	}
	base := m.compareBase(l)
	if m.st == nil || m.st.layer != l || m.st.base != base || len(m.st.st) != len(m.t.nodes) {
		m.st = m.t.compute(l, base)
	}
	var keep nodeID = -1
	if m.cursor < len(m.rows) {
		keep = m.rows[m.cursor].id
	}
	m.rows = m.t.flatten(m.st, m.sh, m.collapsed)
	m.cursor = 0
	for i, r := range m.rows {
		if r.id == keep {
			m.cursor = i
			break
		}
	}
	m.clampScroll()
}

// selected is the tree row under the cursor (-1: none).
func (m *Model) selected() nodeID {
	m.rebuild()
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return -1
	}
	return m.rows[m.cursor].id
}

// visibleLayers are the layer indexes the layers pane lists (the base's
// hidden with b).
func (m *Model) visibleLayers() []int {
	from := 0
	if m.hideBase && m.base != nil && m.base.Layers < len(m.info) {
		from = m.base.Layers
	}
	out := make([]int, 0, len(m.info)-from)
	for i := from; i < len(m.info); i++ {
		out = append(out, i)
	}
	return out
}

// selectLayer moves the layer selection and the tree with it.
func (m *Model) selectLayer(i int) {
	if i < 0 || i >= len(m.info) || i == m.layer {
		return
	}
	m.layer = i
	m.stale = true
}

// jumpTo selects a layer and puts the cursor on a path (expanding its
// parents), for the waste overlay.
func (m *Model) jumpTo(layer int, p string) {
	m.selectLayer(layer)
	m.sh.hide = [stRemoved + 1]bool{}
	m.sh.filter, m.stale = nil, true
	m.filter.SetValue("")
	id := m.t.lookup(p)
	for q := id; q > 0; q = m.t.nodes[q].parent {
		if int(q) < len(m.collapsed) && q != id {
			m.collapsed[q] = false
		}
	}
	m.rebuild()
	for i, r := range m.rows {
		if r.id == id {
			m.cursor = i
			m.top = i - m.treeHeight()/2 // the path mid-pane, its context around it
		}
	}
	m.focus = paneTree
	m.clampScroll()
}

func (m *Model) treeHeight() int { return max(m.bodyHeight()-3, 1) }

func (m *Model) clampScroll() {
	h := m.treeHeight()
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+h {
		m.top = m.cursor - h + 1
	}
	m.top = max(0, min(m.top, len(m.rows)-h))
}

// setFilter applies the filter text (as typed: the tree narrows per key).
func (m *Model) setFilter(s string) {
	mt, err := newMatcher(s)
	if err != nil {
		m.status = "filter: " + oneLine(err.Error())
		return
	}
	m.status = ""
	m.sh.filter = mt
	m.stale = true
}

// progress says how far indexing has come, for the title line.
func (m *Model) progress() string {
	n := len(m.info)
	switch {
	case m.failed != nil:
		return "load failed: " + oneLine(m.failed.Error())
	case m.t.layers < n:
		return fmt.Sprintf("indexing layer %d of %d", m.t.layers+1, n)
	}
	return fmt.Sprintf("%s paths", thousands(len(m.t.nodes)-1))
}

// oneLine puts an error on one line, escaped: it may quote image text.
func oneLine(s string) string {
	return safetext.Line(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; "))
}

// thousands writes 101101 as 101,101.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
