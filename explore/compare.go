package explore

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/source"
)

// CompareOptions set up compare mode: two opened images.
type CompareOptions struct {
	Options
	RefB    string
	SourceB source.Source
}

// compareModel shows two images side by side: the shared layer chain
// folded into one row, the layers each has of its own, and the file
// differences of those divergent layers (diff.Files: the shared chain is
// never read).
type compareModel struct {
	ctx      context.Context
	keys     *keymap
	res      *diff.Result
	stepsA   []history.Step
	stepsB   []history.Step
	files    *diff.FileResult
	failed   error
	rows     []diff.FileChange
	hide     map[string]bool
	filter   textinput.Model
	matcher  *matcher
	editing  bool
	cursor   int
	top      int
	width    int
	height   int
	showHelp bool
	compareFiles
}

type filesMsg struct {
	r   *diff.FileResult
	err error
}

// RunCompare explores the difference of two images until the user quits.
func RunCompare(ctx context.Context, o CompareOptions) error {
	keys, err := LoadKeys(o.KeysFile, o.KeysNamed)
	if err != nil {
		return err
	}
	a, b := o.Source.Image(), o.SourceB.Image()
	ctx, cancel := context.WithCancel(ctx)
	m := newCompareModel(ctx, o, keys)
	defer cancel()
	p := tea.NewProgram(m, programOptions(ctx, o.Options)...)
	go func() {
		defer recoverTo(p.Send)
		r, err := diff.Files(ctx, a, b, o.Source, o.SourceB, m.res.SharedLayers, diff.Options{})
		p.Send(filesMsg{r, err})
	}()
	_, err = p.Run()
	cancel()
	return programError(err)
}

func newCompareModel(ctx context.Context, o CompareOptions, keys *keymap) *compareModel {
	a, b := o.Source.Image(), o.SourceB.Image()
	m := &compareModel{ctx: ctx, keys: keys, res: diff.Images(a, b, diff.Options{}), stepsA: history.Steps(a),
		stepsB: history.Steps(b), hide: map[string]bool{}, width: 80, height: 24,
		compareFiles: compareFiles{srcA: o.Source, srcB: o.SourceB, store: o.Store, side: "B"}}
	m.filter = textinput.New()
	m.filter.Prompt = "Filter: "
	return m
}

func (m *compareModel) Init() tea.Cmd { return nil }

func (m *compareModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		if m.view != nil {
			m.view.resize(m.width, m.height)
		}
	case viewMsg, extractMsg:
		m.filesMessage(msg)
	case filesMsg:
		m.files, m.failed = msg.r, msg.err
		m.refilter()
	case failMsg:
		m.failed = msg.err
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *compareModel) key(msg tea.KeyPressMsg) tea.Cmd {
	k := msg.String()
	if k == "ctrl+c" {
		return tea.Quit
	}
	if m.editing {
		switch k {
		case "enter", "esc":
			m.editing = false
			if k == "esc" {
				m.filter.SetValue("")
			}
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			m.matcher, _ = newMatcher(m.filter.Value())
			m.refilter()
			return cmd
		}
		m.matcher, _ = newMatcher(m.filter.Value())
		m.refilter()
		return nil
	}
	if cmd, ok := m.filesKey(msg); ok {
		return cmd
	}
	page := max(m.listHeight(), 1)
	switch a := m.keys.action(k); a {
	case actQuit, actBack:
		if m.showHelp {
			m.showHelp = false
			return nil
		}
		if a == actQuit {
			return tea.Quit
		}
	case actHelp:
		m.showHelp = !m.showHelp
	case actFilter:
		m.editing = true
		return m.filter.Focus()
	case actAdded, actRemoved, actModified:
		kind := map[string]string{actAdded: diff.Added, actRemoved: diff.Removed, actModified: diff.Changed}[a]
		m.hide[kind] = !m.hide[kind]
		m.refilter()
	case actUp:
		m.cursor--
	case actDown:
		m.cursor++
	case actPageUp:
		m.cursor -= page
	case actPageDown:
		m.cursor += page
	case actTop:
		m.cursor = 0
	case actBottom:
		m.cursor = len(m.rows) - 1
	}
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
	m.top = max(0, min(m.top, m.cursor))
	if m.cursor >= m.top+page {
		m.top = m.cursor - page + 1
	}
	return nil
}

// refilter applies the toggles and the filter to the file differences.
func (m *compareModel) refilter() {
	m.rows = m.rows[:0]
	if m.files == nil {
		return
	}
	for _, c := range m.files.Changes {
		if m.hide[c.Kind] || m.matcher != nil && !m.matcher.match([]byte(c.Path)) {
			continue
		}
		m.rows = append(m.rows, c)
	}
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
}

// stackHeight is the rows of the side-by-side layer stacks.
func (m *compareModel) stackHeight() int {
	n := max(m.res.A.Layers, m.res.B.Layers) - m.res.SharedLayers + 1
	return max(min(n, (m.height-4)/2-3), 1)
}

func (m *compareModel) listHeight() int { return m.height - 2 - (m.stackHeight() + 3) - 3 }

func (m *compareModel) View() tea.View {
	r := m.res
	title := fmt.Sprintf("A %s  vs  B %s · %s", safetext.Line(r.A.Reference), safetext.Line(r.B.Reference), r.Verdict)
	lines := []string{fit(titleStyle.Render(title), m.width)}
	body := m.height - 2
	switch {
	case m.view != nil:
		lines = append(lines, m.view.render(body)...)
	case m.showHelp:
		lines = append(lines, box("Keys (compare)", []string{
			"  ↑ ↓ PgUp PgDn   move in the file differences", "  / or Ctrl+F     filter paths",
			"  Ctrl+A/R/M      show / hide added, removed, changed paths",
			"  v               view the file as the chosen side has it (added: B's, removed: A's)",
			"  x               extract it from that side (safely, as strata extract)",
			"  Tab             choose side A or B for v and x", "  q, Ctrl+C       quit"}, m.width, body, true)...)
	default:
		sh := m.stackHeight() + 3
		lines = append(lines, box(m.stackTitle(), m.stackLines(m.width-2), m.width, sh, false)...)
		lines = append(lines, box(m.filesTitle(), m.fileLines(m.width-2), m.width, body-sh, true)...)
	}
	bottom := dimStyle.Render("q quit  / filter  ctrl+a/r/m kinds  v view  x extract  tab side " + m.side + "  ? help")
	switch {
	case m.editing:
		bottom = m.filter.View()
	case m.prompting:
		bottom = m.prompt.View()
	case m.busy != "":
		bottom = m.busy
	case m.status != "":
		bottom = m.status
	case m.view != nil:
		bottom = m.view.hints(m.keys)
	}
	lines = append(lines, fit(bottom, m.width))
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	return v
}

func (m *compareModel) stackTitle() string {
	t := fmt.Sprintf("Layers: %d shared", m.res.SharedLayers)
	if s := m.res.FirstDifferingStep; s != nil {
		t += fmt.Sprintf(", first differing step %d", s.Step)
	}
	return t
}

// stackLines draws A's and B's layers in two columns, the shared chain as
// one folded row.
func (m *compareModel) stackLines(w int) []string {
	half := (w - 3) / 2
	out := []string{dimStyle.Render(fit(fit("A", half)+" │ "+"B", w))}
	if n := m.res.SharedLayers; n > 0 {
		out = append(out, fit(fmt.Sprintf("═ shared chain: %s, the same in both (folded)", count(n, "layer")), w))
	}
	side := func(steps []history.Step, i int) string {
		for _, s := range steps {
			if s.Layer != nil && *s.Layer == i {
				size := "-"
				if s.UncompressedSize >= 0 {
					size = humanize.Bytes(s.UncompressedSize)
				}
				return fmt.Sprintf("%3d %8s %s", s.Step, size, safetext.Line(s.Instruction))
			}
		}
		return ""
	}
	for i := m.res.SharedLayers; i < max(m.res.A.Layers, m.res.B.Layers) && len(out) < m.stackHeight()+1; i++ {
		out = append(out, fit(side(m.stepsA, i), half)+" │ "+fit(side(m.stepsB, i), half))
	}
	return out
}

func (m *compareModel) filesTitle() string {
	f := m.files
	switch {
	case m.failed != nil:
		return "Files: " + oneLine(m.failed.Error())
	case f == nil:
		return "Files: reading the layers the images do not share…"
	}
	t := fmt.Sprintf("Files: %d added, %d removed, %d changed", f.Added, f.Removed, f.Changed)
	if f.Written > 0 {
		t += fmt.Sprintf(", %d written over the base", f.Written)
	}
	return t + fmt.Sprintf(" · read %s, skipped %s", humanize.Bytes(f.Read.Blob), humanize.Bytes(f.Skipped.Blob))
}

func (m *compareModel) fileLines(w int) []string {
	if m.files == nil {
		return nil
	}
	if len(m.rows) == 0 {
		return []string{"  (no differences shown)"}
	}
	var out []string
	for i := m.top; i < len(m.rows) && i < m.top+m.listHeight(); i++ {
		c := m.rows[i]
		mark := map[string]string{diff.Added: "A", diff.Removed: "R", diff.Changed: "M", diff.Written: "W"}[c.Kind]
		line := fmt.Sprintf("%s %s", mark, safetext.Line(c.Path))
		if len(c.Fields) > 0 {
			line += "  (" + strings.Join(c.Fields, ", ") + ")"
		}
		if c.Side != "" {
			line += "  by " + c.Side
		}
		line = fit(line, w)
		switch {
		case i == m.cursor:
			line = selStyle.Render(line)
		case c.Kind == diff.Added:
			line = stAddedStyle.Render(line)
		case c.Kind == diff.Removed:
			line = stRemovedStyle.Render(line)
		case c.Kind == diff.Changed:
			line = stModifiedStyle.Render(line)
		}
		out = append(out, line)
	}
	return out
}
