package explore

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/waste"
)

// detailLines describe the selected layer and the image: digest, the full
// instruction, sizes, efficiency and waste, the base.
func (m *Model) detailLines(w, h int) []string {
	var head, instr []string
	i := m.layer
	if i >= 0 && i < len(m.info) {
		l := m.im.Image.Layers[i]
		head = append(head, fmt.Sprintf("Step %s · layer %d of %d · %s", m.stepText(i), i, len(m.info), howText(m.info[i].how, i < m.t.layers)))
		d := l.Digest
		if d == "" {
			d = l.DiffID
		}
		head = append(head, "Digest "+safetext.Line(d))
		size := "Size " + humanize.Bytes(m.layerSize(i))
		if l.Size > 0 {
			size += " · " + humanize.Bytes(l.Size) + " stored"
		}
		head = append(head, size)
		if s, ok := m.im.Step(i); ok {
			instr = wrap(safetext.Line(s.Instruction), w, 8)
		}
	}
	img := fmt.Sprintf("Image %s", humanize.Bytes(m.imageSize()))
	var tail []string
	switch r := m.report; {
	case r != nil:
		tail = append(tail, fmt.Sprintf("Efficiency %.2f %% · %s", r.Efficiency*100, strings.ToLower(img[:1])+img[1:]),
			fmt.Sprintf("Wasted %s (user %s, %.1f %%)", humanize.Bytes(r.WastedBytes), humanize.Bytes(r.UserWastedBytes), r.UserWastedPercent))
	case m.failed != nil:
		tail = append(tail, img+" · efficiency unknown (loading failed)")
	default:
		tail = append(tail, img+" · efficiency after the last layer")
	}
	tail = append(tail, wrap("Base "+baseName(m.base), w, 2)...)
	for _, n := range m.notes {
		tail = append(tail, wrap("Note "+safetext.Line(n), w, 2)...)
	}
	// The instruction gets the room the rest leaves (one line at least).
	room := max(h-len(head)-min(len(tail), 3), 1)
	if len(instr) > room {
		instr = instr[:room]
		instr[room-1] = ansi.Truncate(instr[room-1]+"…", w, "…")
	}
	out := append(append(head, instr...), tail...)
	if len(out) > h {
		out = out[:h]
	}
	return out
}

func howText(h layerindex.How, done bool) string {
	switch {
	case !done:
		return "indexing"
	case h == layerindex.HowCache:
		return "cached"
	case h == layerindex.HowTOC:
		return "from TOC"
	}
	return "read"
}

// baseName words the lineage's answer.
func baseName(b *waste.Base) string {
	switch {
	case b == nil:
		return "resolving…"
	case b.Name == "scratch" && b.Layers == 0:
		return "scratch (no base layers)"
	}
	name := b.Name
	if name == "" {
		name = "unknown"
	}
	s := fmt.Sprintf("%s (%s)", safetext.Line(name), count(b.Layers, "layer"))
	if !b.Known {
		s += ", a guess"
	}
	return s
}

// wrap breaks an (escaped, plain) text into lines of w cells, at most n.
func wrap(s string, w, n int) []string {
	if w < 8 {
		return []string{s}
	}
	var out []string
	for len(out) < n && s != "" {
		if ansi.StringWidth(s) <= w {
			out = append(out, s)
			break
		}
		cut := ansi.Truncate(s, w, "")
		out = append(out, cut)
		s = s[len(cut):]
	}
	if len(out) == n && s != "" && ansi.StringWidth(out[n-1]) >= w {
		out[n-1] = ansi.Truncate(out[n-1], w, "…")
	}
	return out
}

func (m *Model) helpLines() []string {
	out := []string{"Keys (change them in " + safetext.Line(keysFileHint()) + "):", ""}
	for _, b := range m.keys.bindings {
		out = append(out, fmt.Sprintf("  %-22s %s", strings.Join(b.keys, ", "), b.help))
	}
	out = append(out, "", "Marks: A added, M modified, R removed (this layer against the layers below);",
		"b marks the base image's layers; ✓ an indexed layer, … one still indexing.")
	return out
}

// wasteItem is one line of the waste overlay and where it leads.
type wasteItem struct {
	layer int
	path  string
	text  string
	fix   string
}

func (m *Model) wasteItems() []wasteItem {
	r := m.report
	if r == nil {
		return nil
	}
	var out []wasteItem
	for _, f := range r.Findings {
		out = append(out, wasteItem{layer: f.Layer, path: f.Example, fix: f.Fix,
			text: fmt.Sprintf("step %-3d %-13s %9s  %s, e.g. %s", f.Step, f.Cause, humanize.Bytes(f.Bytes), count(f.Files, "file"), f.Example)})
	}
	for _, o := range r.Top {
		out = append(out, wasteItem{layer: o.Layer, path: o.Path,
			text: fmt.Sprintf("step %-3d %-13s %9s  %s", o.Step, o.Cause, humanize.Bytes(o.Bytes), o.Path)})
	}
	return out
}

func (m *Model) wasteLines(h int) []string {
	r := m.report
	switch {
	case r == nil && m.failed != nil:
		return []string{"no waste analysis: loading failed"}
	case r == nil:
		return []string{fmt.Sprintf("the analysis is ready once every layer is indexed (%d of %d)", m.t.layers, len(m.info))}
	}
	out := []string{fmt.Sprintf("efficiency %.2f %%, %s wasted of %s shipped; user waste %s (%.1f %%), base: %s",
		r.Efficiency*100, humanize.Bytes(r.WastedBytes), humanize.Bytes(r.ContentBytes),
		humanize.Bytes(r.UserWastedBytes), r.UserWastedPercent, baseName(m.base)), ""}
	items := m.wasteItems()
	if len(items) == 0 {
		return append(out, "nothing wasted")
	}
	m.wasteRow = min(m.wasteRow, len(items)-1)
	room := max(h-len(out)-2, 1)
	first := max(0, m.wasteRow-room+1)
	for i := first; i < len(items) && i < first+room; i++ {
		line := "  " + safetext.Line(items[i].text)
		if i == m.wasteRow {
			line = selStyle.Render("›" + line[1:])
		}
		out = append(out, line)
	}
	if fix := items[m.wasteRow].fix; fix != "" {
		out = append(out, "", "fix: "+safetext.Line(fix))
	}
	return out
}

// jumpToFinding selects the step that caused the selected waste and the
// path in the tree.
func (m *Model) jumpToFinding() {
	items := m.wasteItems()
	if m.wasteRow >= len(items) {
		return
	}
	it := items[m.wasteRow]
	m.ov = ovNone
	m.hideBase = false
	m.jumpTo(it.layer, it.path)
	m.status = fmt.Sprintf("step %s: %s", m.stepText(it.layer), safetext.Line(it.path))
}

// keysFileHint names the key file for the help screen.
func keysFileHint() string {
	if f := DefaultKeysFile(); f != "" {
		return f
	}
	return "--keys FILE"
}
