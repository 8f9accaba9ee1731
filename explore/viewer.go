package explore

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/internal/safetext"
)

// viewer shows one file's content, as text (every line escaped: a file
// cannot drive the terminal) or as a hex dump, searchable in both. Lines
// are drawn from the bytes on demand; only the line starts are kept.
type viewer struct {
	name   string
	data   []byte
	total  int64
	hex    bool
	starts []int // text mode: where each line starts
	top    int
	w, h   int
	query  string
	found  int // the line of the last match (-1 none)
	input  textinput.Model
	asking bool
	note   string
}

func newViewer(name string, data []byte, total int64, km *keymap) *viewer {
	v := &viewer{name: name, data: data, total: total, found: -1, w: 80, h: 20}
	sniff := data[:min(len(data), 8<<10)]
	v.hex = bytes.IndexByte(sniff, 0) >= 0 || !utf8.Valid(trimPartialRune(sniff))
	v.starts = []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			v.starts = append(v.starts, i+1)
		}
	}
	v.input = textinput.New()
	v.input.Prompt = "Search: "
	return v
}

// trimPartialRune drops a rune the sniff window cut in half.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

func (v *viewer) resize(w, h int) { v.w, v.h = w, h }

func (v *viewer) lines() int {
	if v.hex {
		return (len(v.data) + 15) / 16
	}
	return len(v.starts)
}

// line renders line i (escaped).
func (v *viewer) line(i int) string {
	if v.hex {
		b := v.data[i*16 : min(i*16+16, len(v.data))]
		var s strings.Builder
		fmt.Fprintf(&s, "%08x  ", i*16)
		for j := 0; j < 16; j++ {
			if j < len(b) {
				fmt.Fprintf(&s, "%02x ", b[j])
			} else {
				s.WriteString("   ")
			}
		}
		s.WriteString(" |")
		for _, c := range b {
			if c >= 0x20 && c < 0x7f {
				s.WriteByte(c)
			} else {
				s.WriteByte('.')
			}
		}
		s.WriteString("|")
		return s.String()
	}
	end := len(v.data)
	if i+1 < len(v.starts) {
		end = v.starts[i+1]
	}
	text := strings.TrimSuffix(string(v.data[v.starts[i]:end]), "\n")
	return fmt.Sprintf("%6d  %s", i+1, safetext.Line(strings.ReplaceAll(text, "\t", "    ")))
}

// lineOf is the line holding byte offset off.
func (v *viewer) lineOf(off int) int {
	if v.hex {
		return off / 16
	}
	lo, hi := 0, len(v.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if v.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// search finds the next occurrence of the query after line from (wrapping).
func (v *viewer) search(from int) {
	if v.query == "" {
		return
	}
	q := []byte(v.query)
	start := 0
	if from >= 0 && from < v.lines() {
		if v.hex {
			start = min((from+1)*16, len(v.data))
		} else if from+1 < len(v.starts) {
			start = v.starts[from+1]
		} else {
			start = len(v.data)
		}
	}
	i := bytes.Index(v.data[start:], q)
	if i >= 0 {
		i += start
	} else if i = bytes.Index(v.data, q); i < 0 {
		v.found, v.note = -1, "not found: "+safetext.Line(v.query)
		return
	}
	v.found, v.note = v.lineOf(i), ""
	v.top = max(0, v.found-v.h/3)
}

// render draws the viewer over the body.
func (v *viewer) render(h int) []string {
	v.h = h - 2
	v.top = max(0, min(v.top, v.lines()-v.h))
	mode := "text"
	if v.hex {
		mode = "hex"
	}
	title := fmt.Sprintf("%s (%s, %s)", safetext.Line(v.name), mode, humanize.Bytes(v.total))
	if int64(len(v.data)) < v.total {
		title += fmt.Sprintf(", first %s shown", humanize.Bytes(int64(len(v.data))))
	}
	var out []string
	for i := v.top; i < v.lines() && i < v.top+v.h; i++ {
		l := v.line(i)
		if i == v.found {
			l = selStyle.Render(fit(l, v.w-2))
		}
		out = append(out, l)
	}
	return box(title, out, v.w, h, true)
}

func (v *viewer) hints(km *keymap) string {
	if v.asking {
		return v.input.View()
	}
	if v.note != "" {
		return v.note
	}
	return fmt.Sprintf("%s close  %s search  %s next  %s text/hex  ↑↓ PgUp PgDn scroll",
		km.keysOf(actBack), km.keysOf(actFilter), km.keysOf(actSearchNext), km.keysOf(actToggleHex))
}

func (m *Model) viewerKey(msg tea.KeyPressMsg) tea.Cmd {
	closed, cmd := m.view.key(m.keys, msg)
	if closed {
		m.ov, m.view = ovNone, nil
	}
	return cmd
}

// key handles a key while the viewer is open; closed is true when it
// asks to be closed.
func (v *viewer) key(km *keymap, msg tea.KeyPressMsg) (closed bool, cmd tea.Cmd) {
	if v.asking {
		switch msg.String() {
		case "enter":
			v.asking, v.query = false, v.input.Value()
			v.search(v.top - 1)
		case "esc":
			v.asking = false
		default:
			v.input, cmd = v.input.Update(msg)
			return false, cmd
		}
		return false, nil
	}
	v.note = ""
	switch km.action(msg.String()) {
	case actBack, actQuit, actView:
		return true, nil
	case actFilter:
		v.asking = true
		v.input.SetValue("")
		return false, v.input.Focus()
	case actSearchNext:
		v.search(v.found)
	case actToggleHex:
		v.hex = !v.hex
		v.found = -1
	case actUp:
		v.top--
	case actDown:
		v.top++
	case actPageUp:
		v.top -= v.h
	case actPageDown:
		v.top += v.h
	case actTop:
		v.top = 0
	case actBottom:
		v.top = v.lines()
	}
	return false, nil
}
