package explore

import (
	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/layers"
)

// key handles a key press: prompts and overlays first, then the keymap.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := msg.String()
	if panicKey != "" && k == panicKey {
		panic("explore: the test panic key")
	}
	switch {
	case k == "ctrl+c":
		return tea.Quit
	case m.filtering:
		return m.filterKey(msg)
	case m.prompting:
		return m.promptKey(msg)
	case m.ov == ovViewer:
		return m.viewerKey(msg)
	case m.ov != ovNone:
		return m.overlayKey(msg)
	}
	return m.act(m.keys.actionIn(k, m.focus))
}

// act performs an action of the main screen.
func (m *Model) act(a string) tea.Cmd {
	switch a {
	case actQuit:
		return tea.Quit
	case actSwitchPane:
		m.focus = 1 - m.focus
	case actFilter:
		m.filtering = true
		m.focus = paneTree
		return m.filter.Focus()
	case actHelp:
		m.ov = ovHelp
	case actWaste:
		m.ov, m.wasteRow = ovWaste, 0
	case actHideBase:
		m.toggleBase()
	case actSort:
		m.sh.bySize = !m.sh.bySize
		m.stale = true
	case actAttributes:
		m.attrs = !m.attrs
	case actCompareAll, actCompareLay:
		m.compareAll, m.stale = a == actCompareAll, true
	case actAdded, actRemoved, actModified, actUnmodified:
		st := map[string]uint8{actAdded: stAdded, actRemoved: stRemoved, actModified: stModified, actUnmodified: stUnmod}[a]
		m.sh.hide[st] = !m.sh.hide[st]
		m.stale = true
	case actCollapseAll:
		m.collapseAll()
	case actView:
		return m.startView()
	case actExtract:
		m.startExtract()
	default:
		if m.focus == paneLayers {
			m.layerMove(a)
		} else {
			m.treeMove(a)
		}
	}
	return nil
}

// layerMove moves the layer selection.
func (m *Model) layerMove(a string) {
	vis := m.visibleLayers()
	if len(vis) == 0 {
		return
	}
	at := 0
	for i, l := range vis {
		if l == m.layer {
			at = i
		}
	}
	page := max(m.layersHeight()-1, 1)
	switch a {
	case actUp:
		at--
	case actDown:
		at++
	case actPageUp:
		at -= page
	case actPageDown:
		at += page
	case actTop:
		at = 0
	case actBottom:
		at = len(vis) - 1
	default:
		return
	}
	m.selectLayer(vis[max(0, min(at, len(vis)-1))])
}

// treeMove moves in the tree or folds it.
func (m *Model) treeMove(a string) {
	m.rebuild()
	h := m.treeHeight()
	switch a {
	case actUp:
		m.cursor--
	case actDown:
		m.cursor++
	case actPageUp:
		m.cursor -= h
		m.top -= h
	case actPageDown:
		m.cursor += h
		m.top += h
	case actTop:
		m.cursor = 0
	case actBottom:
		m.cursor = len(m.rows) - 1
	case actCollapse:
		if id := m.selected(); id > 0 && m.st.isDir(m.t, id) {
			m.collapsed[id] = !m.collapsed[id]
			m.stale = true
		}
	case actRight:
		if id := m.selected(); id > 0 && m.collapsed[id] {
			m.collapsed[id], m.stale = false, true
		}
	case actLeft:
		m.leftKey()
	}
	m.clampScroll()
}

// leftKey collapses an open directory, else goes to the parent.
func (m *Model) leftKey() {
	id := m.selected()
	if id <= 0 {
		return
	}
	if m.st.isDir(m.t, id) && !m.collapsed[id] && len(m.t.nodes[id].kids) > 0 {
		m.collapsed[id], m.stale = true, true
		return
	}
	p := m.t.nodes[id].parent
	for i := m.cursor; i >= 0; i-- {
		if m.rows[i].id == p {
			m.cursor = i
			return
		}
	}
}

// collapseAll folds every directory, or unfolds all when some are folded.
func (m *Model) collapseAll() {
	any := false
	for _, c := range m.collapsed {
		any = any || c
	}
	for id := range m.collapsed {
		m.collapsed[id] = !any && id > 0 && len(m.t.nodes[id].kids) > 0
	}
	m.stale = true
}

// toggleBase hides or shows the base image's layers in the layers pane.
func (m *Model) toggleBase() {
	switch {
	case m.base == nil:
		m.status = "the base image is not resolved yet"
		return
	case m.base.Layers == 0:
		m.status = "no base layers: " + baseName(m.base)
		return
	}
	m.hideBase = !m.hideBase
	if m.hideBase && m.layer < m.base.Layers && m.base.Layers < len(m.info) {
		m.selectLayer(m.base.Layers)
	}
}

func (m *Model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter", "esc", "tab":
		m.filtering = false
		m.filter.Blur()
		if msg.String() == "esc" {
			m.filter.SetValue("")
			m.setFilter("")
		}
		return nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.setFilter(m.filter.Value())
	return cmd
}

func (m *Model) overlayKey(msg tea.KeyPressMsg) tea.Cmd {
	a := m.keys.action(msg.String())
	switch {
	case a == actBack || a == actQuit || a == actHelp && m.ov == ovHelp || a == actWaste && m.ov == ovWaste:
		m.ov = ovNone
	case m.ov == ovWaste && (msg.String() == "enter" || a == actModified):
		m.jumpToFinding()
	case m.ov == ovWaste && a == actUp:
		m.wasteRow = max(0, m.wasteRow-1)
	case m.ov == ovWaste && a == actDown:
		m.wasteRow++
	}
	return nil
}

// click selects the layer or row under the mouse (with --mouse).
func (m *Model) click(ms tea.Mouse) {
	lw := m.leftWidth()
	y := ms.Y - 1
	if ms.X < lw {
		if i := y - 2 + m.layerTop; y >= 2 && y-2 < m.layersHeight() {
			if vis := m.visibleLayers(); i < len(vis) {
				m.focus = paneLayers
				m.selectLayer(vis[i])
			}
		}
		return
	}
	m.rebuild()
	if i := y - 2 + m.top; y >= 2 && i < len(m.rows) {
		m.focus, m.cursor = paneTree, i
	}
}

// isRegular reports whether the event is file content one can view.
func isRegular(e *event) bool {
	return e != nil && e.kind == evWrite && (e.typ == layers.TypeFile || e.typ == layers.TypeHardlink)
}
