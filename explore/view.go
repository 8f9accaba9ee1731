package explore

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layers"
)

// Styles. Colour is never the only signal: statuses carry a letter, the
// focused pane a double border, the selected row a › marker. The program
// drops colours when NO_COLOR is set (Bubble Tea's colour profile).
var (
	stAddedStyle    = lipgloss.NewStyle().Foreground(lipgloss.Green)
	stModifiedStyle = lipgloss.NewStyle().Foreground(lipgloss.Yellow)
	stRemovedStyle  = lipgloss.NewStyle().Foreground(lipgloss.Red)
	dirStyle        = lipgloss.NewStyle().Bold(true)
	selStyle        = lipgloss.NewStyle().Reverse(true)
	dimStyle        = lipgloss.NewStyle().Faint(true)
	titleStyle      = lipgloss.NewStyle().Bold(true)
)

func statusStyle(st uint8) *lipgloss.Style {
	switch st {
	case stAdded:
		return &stAddedStyle
	case stModified:
		return &stModifiedStyle
	case stRemoved:
		return &stRemovedStyle
	}
	return nil
}

// View draws the screen.
func (m *Model) View() tea.View {
	m.rebuild()
	lines := []string{m.titleLine()}
	body := m.bodyHeight()
	switch m.ov {
	case ovHelp:
		lines = append(lines, box("Keys", m.helpLines(), m.width, body, true)...)
	case ovWaste:
		lines = append(lines, box("Waste (Enter: jump to the step that caused it)", m.wasteLines(body-2), m.width, body, true)...)
	case ovViewer:
		lines = append(lines, m.view.render(body)...)
	default:
		lw := m.leftWidth()
		lh := m.layersHeight() + 3
		left := box("Layers", m.layerLines(lw-2), lw, lh, m.focus == paneLayers)
		left = append(left, box("Details", m.detailLines(lw-2, body-lh-2), lw, body-lh, false)...)
		right := box(m.treeTitle(), m.treeLines(m.width-lw-2), m.width-lw, body, m.focus == paneTree)
		for i := range body {
			lines = append(lines, left[i]+right[i])
		}
	}
	lines = append(lines, m.bottomLine())
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	if m.mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

func (m *Model) bodyHeight() int { return max(m.height-2, 4) }

// leftWidth is the layers and details column: 40 % of the screen.
func (m *Model) leftWidth() int { return max(min(m.width*2/5, 60), 16) }

// layersHeight is how many layer rows the layers pane shows.
func (m *Model) layersHeight() int {
	n := len(m.visibleLayers())
	return max(min(n, m.bodyHeight()/2-3), 1)
}

func (m *Model) titleLine() string {
	img := m.im.Image
	rest := fmt.Sprintf(" (%s) · %s · %s · %s", safetext.Line(img.Platform.String()),
		count(len(img.Layers), "layer"), humanize.Bytes(m.imageSize()), m.progress())
	ref := ansi.Truncate(safetext.Line(m.ref), max(m.width-ansi.StringWidth(rest), 12), "…")
	return fit(titleStyle.Render(ref+rest), m.width)
}

// imageSize is the sum of the layers' tar sizes (stored size where the tar
// size is not known yet).
func (m *Model) imageSize() int64 {
	var n int64
	for i := range m.info {
		n += max(m.layerSize(i), 0)
	}
	return n
}

func (m *Model) layerSize(i int) int64 {
	if m.info[i].tarSize > 0 {
		return m.info[i].tarSize
	}
	if l := m.im.Image.Layers[i]; l.UncompressedSize > 0 {
		return l.UncompressedSize
	}
	return m.im.Image.Layers[i].Size
}

func (m *Model) bottomLine() string {
	switch {
	case m.filtering:
		return fit(m.filter.View(), m.width)
	case m.prompting:
		return fit(m.prompt.View(), m.width)
	case m.busy != "":
		return fit(m.busy, m.width)
	case m.status != "":
		return fit(m.status, m.width)
	case m.ov == ovViewer:
		return fit(m.view.hints(m.keys), m.width)
	}
	k := m.keys.keysOf
	hints := fmt.Sprintf("%s quit  %s pane  %s filter  %s view  %s extract  %s sort  %s base  %s waste  %s help",
		k(actQuit), k(actSwitchPane), k(actFilter), k(actView), k(actExtract), k(actSort), k(actHideBase), k(actWaste), k(actHelp))
	return fit(dimStyle.Render(hints), m.width)
}

// layerLines lists the layers: indexed mark, base mark, step, size,
// instruction.
func (m *Model) layerLines(w int) []string {
	vis := m.visibleLayers()
	h := m.layersHeight()
	at := 0
	for i, l := range vis {
		if l == m.layer {
			at = i
		}
	}
	if at < m.layerTop {
		m.layerTop = at
	}
	if at >= m.layerTop+h {
		m.layerTop = at - h + 1
	}
	m.layerTop = max(0, min(m.layerTop, len(vis)-h))
	out := []string{dimStyle.Render(fit("   STEP     SIZE  INSTRUCTION", w))}
	for r := m.layerTop; r < len(vis) && r < m.layerTop+h; r++ {
		i := vis[r]
		mark := "…"
		if i < m.t.layers {
			mark = "✓"
		}
		if m.base != nil && i < m.base.Layers {
			mark += "b"
		} else {
			mark += " "
		}
		step, instr := "-", "(no history step)"
		if s, ok := m.im.Step(i); ok {
			step, instr = fmt.Sprint(s.Step), safetext.Line(s.Instruction)
		}
		cur := " "
		if i == m.layer {
			cur = "›"
		}
		line := fit(fmt.Sprintf("%s%s%4s %8s  %s", cur, mark, step, humanize.Bytes(m.layerSize(i)), instr), w)
		if i == m.layer && m.focus == paneLayers {
			line = selStyle.Render(line)
		}
		out = append(out, line)
	}
	return out
}

func (m *Model) treeTitle() string {
	l := m.shownLayer()
	t := "Files"
	if l >= 0 {
		t = fmt.Sprintf("Files as of step %s (layer %d)", m.stepText(l), l)
		if base := m.compareBase(l); base >= 0 && base < l-1 {
			t += fmt.Sprintf(" · since layer %d", base)
		}
		if l != m.layer {
			t += fmt.Sprintf(" · layer %d not indexed yet", m.layer)
		}
	}
	var on []string
	if m.sh.bySize {
		on = append(on, "by size")
	}
	if m.sh.filter != nil {
		on = append(on, "filter "+safetext.Line(m.sh.filter.text))
	}
	for _, h := range []struct {
		st   uint8
		name string
	}{{stAdded, "A"}, {stRemoved, "R"}, {stModified, "M"}, {stUnmod, "unmodified"}} {
		if m.sh.hide[h.st] {
			on = append(on, "no "+h.name)
		}
	}
	if len(on) > 0 {
		t += " [" + strings.Join(on, ", ") + "]"
	}
	return t
}

func (m *Model) stepText(l int) string {
	if s, ok := m.im.Step(l); ok {
		return fmt.Sprint(s.Step)
	}
	return "-"
}

// treeLines draws the rows in view.
func (m *Model) treeLines(w int) []string {
	head := "    SIZE  FILE"
	if m.attrs {
		head = "  MODE        UID:GID     SIZE  FILE"
	}
	out := []string{dimStyle.Render(fit(head, w))}
	switch {
	case m.st == nil && m.loading():
		return append(out, "  indexing the first layer…")
	case m.st == nil:
		return append(out, "  (no layers)")
	case len(m.rows) == 0:
		return append(out, "  (nothing matches)")
	}
	h := m.treeHeight()
	for i := m.top; i < len(m.rows) && i < m.top+h; i++ {
		out = append(out, m.treeRow(m.rows[i], i == m.cursor, w))
	}
	return out
}

func (m *Model) treeRow(r row, sel bool, w int) string {
	id := r.id
	st := m.st.st[id]
	e := m.st.entry(m.t, id)
	dir := m.st.isDir(m.t, id)
	var b strings.Builder
	b.WriteString(marks[st])
	b.WriteByte(' ')
	if m.attrs {
		mode, owner := "", ""
		if e != nil {
			mode, owner = layers.ModeString(e.typ, e.mode), fmt.Sprintf("%d:%d", e.uid, e.gid)
		} else if dir {
			mode = "d?????????"
		}
		fmt.Fprintf(&b, "%-10s %9s ", mode, owner)
	}
	size := "-"
	if dir || e != nil && e.typ == layers.TypeFile {
		size = humanize.Bytes(m.st.size[id])
	}
	fmt.Fprintf(&b, "%8s  ", size)
	b.WriteString(guides(r))
	name := safetext.Line(m.t.nodes[id].name)
	if dir {
		name += "/"
		if m.collapsed[id] {
			name += " [+]"
		}
	}
	if e != nil && (e.typ == layers.TypeSymlink || e.typ == layers.TypeHardlink) {
		name += " → " + safetext.Line(m.t.links[linkKey(id, e.layer)])
	}
	if dir {
		name = dirStyle.Render(name)
	}
	b.WriteString(name)
	line := fit(b.String(), w)
	if sel && m.focus == paneTree {
		return selStyle.Render(ansi.Strip(line))
	}
	if s := statusStyle(st); s != nil {
		return s.Render(ansi.Strip(line))
	}
	return line
}

// guides draws the tree lines left of a name.
func guides(r row) string {
	d := int(r.depth)
	var b strings.Builder
	for k := 0; k < d && k < 64; k++ {
		if r.last&(1<<k) != 0 {
			b.WriteString("   ")
		} else {
			b.WriteString("│  ")
		}
	}
	if d < 64 && r.last&(1<<d) != 0 {
		b.WriteString("└─ ")
	} else {
		b.WriteString("├─ ")
	}
	return b.String()
}

// box frames lines (cut or padded to fit) in a border with a title; the
// focused pane's border is double, so focus reads without colour.
func box(title string, lines []string, w, h int, focused bool) []string {
	if w < 4 || h < 2 {
		return make([]string, max(h, 0))
	}
	tl, tr, bl, br, hz, vt := "┌", "┐", "└", "┘", "─", "│"
	if focused {
		tl, tr, bl, br, hz, vt = "╔", "╗", "╚", "╝", "═", "║"
	}
	t := ansi.Truncate(" "+title+" ", w-4, "…")
	top := tl + hz + t + strings.Repeat(hz, max(w-3-ansi.StringWidth(t), 0)) + tr
	out := []string{top}
	for i := 0; i < h-2; i++ {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out = append(out, vt+fit(l, w-2)+vt)
	}
	return append(out, bl+strings.Repeat(hz, w-2)+br)
}

// fit cuts or pads a (styled) line to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", max(w-ansi.StringWidth(s), 0))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%s %ss", thousands(n), noun)
}
