// Package safetext keeps text strata prints from acting on a terminal.
// Image metadata is attacker-controlled: a history entry, label, tag, path
// or registry error can carry ESC sequences (retitle the window, move the
// cursor over a line, OSC 52 to write the clipboard), BEL, backspace, a
// bare carriage return, C1 controls or bidirectional overrides that make a
// line read differently from what it holds. Every such character comes out
// as a visible escape: \x1b for a C0 control or DEL, \u009b for a C1
// control, \u202e for a bidi control, \xff for a byte that is not UTF-8.
// Newline and tab are kept (Escape, Writer) or escaped too (Line, for
// one-line fields). Nothing else changes, so escaping twice is escaping
// once.
//
// One mechanism serves every verb: cmd/strata wraps stdout and stderr in a
// Writer, so whatever a verb prints in text mode is escaped, and a verb
// that lays out columns or cuts text to a width escapes a field with Line
// first so its measure is right. JSON output needs no escaping (the
// encoder writes C0 controls as \u escapes); JSON escapes the few
// characters it leaves raw.
//
// Two verbs need more than the Writer:
//
//   - strata diff --color: strata's own colours are SGR sequences (ESC [ …
//     m). The diff renderer escapes every piece of text itself and adds the
//     SGR codes around it; cmd/strata writes that through WithSGR(w), which
//     lets exactly SGR sequences through and still escapes every other
//     control. Image text cannot inject SGR: it was escaped before the
//     codes were added.
//   - strata cat (file content on purpose): write through Content(w, raw).
//     When stdout is not a terminal (a pipe, a file) or the user asked for
//     raw bytes, Content returns the underlying stream and the bytes go out
//     untouched; on a terminal it returns the escaping Writer, so a file
//     cannot drive the terminal unless the user says so.
package safetext

import (
	"io"
	"os"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"
)

const hexDigits = "0123456789abcdef"

// unsafeRune reports whether r (≥ 0x80) acts on a terminal or reorders
// what is shown: C1 controls, bidi embeddings, overrides, isolates and
// marks, and the Unicode line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

type mode struct {
	line  bool // one-line field: newline, tab and CR escaped too
	sgr   bool // let SGR sequences (ESC [ digits/; m) through
	json  bool // JSON text: ASCII controls as \u00XX, which JSON reads back
	final bool // no more input follows: decide on what is pending
}

// appendEscaped escapes src onto dst and returns how many bytes of src it
// consumed: less than len(src) only when !m.final and src ends inside a
// UTF-8 sequence, a CR that may start CR LF, or (m.sgr) an ESC sequence.
func appendEscaped(dst, src []byte, m mode) ([]byte, int) {
	for i := 0; i < len(src); {
		c := src[i]
		if c >= 0x20 && c < 0x7f {
			dst = append(dst, c)
			i++
			continue
		}
		if c < 0x80 {
			n, pending := control(src[i:], m)
			if pending {
				return dst, i
			}
			if n > 0 {
				dst = append(dst, src[i:i+n]...)
				i += n
				continue
			}
			if m.json {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			} else {
				dst = appendByteEscape(dst, c, m.line)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			if !m.final && !utf8.FullRune(src[i:]) {
				return dst, i
			}
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			size = 1
		case unsafeRune(r):
			dst = append(dst, '\\', 'u')
			for s := 12; s >= 0; s -= 4 {
				dst = append(dst, hexDigits[(r>>s)&15])
			}
		default:
			dst = append(dst, src[i:i+size]...)
		}
		i += size
	}
	return dst, len(src)
}

// control decides on the ASCII control at the start of s: n > 0 bytes to
// pass through as they are, or 0 to escape the first byte; pending when
// the decision needs bytes that have not arrived.
func control(s []byte, m mode) (n int, pending bool) {
	switch s[0] {
	case '\n', '\t':
		if !m.line {
			return 1, false
		}
	case '\r':
		// CR LF is a line end (Windows text, a Dockerfile with CRLF);
		// only a bare CR can overwrite what a line showed.
		if m.line {
			return 0, false
		}
		if len(s) == 1 {
			return 0, !m.final
		}
		if s[1] == '\n' {
			return 2, false
		}
	case 0x1b:
		if !m.sgr {
			return 0, false
		}
		return sgrLen(s, m.final)
	}
	return 0, false
}

// sgrLen matches ESC [ [0-9;]* m at the start of s (at most 32 parameter
// bytes).
func sgrLen(s []byte, final bool) (int, bool) {
	for i := 1; i < len(s) && i < 36; i++ {
		c := s[i]
		switch {
		case i == 1 && c != '[':
			return 0, false
		case i == 1:
		case c == 'm':
			return i + 1, false
		case c >= '0' && c <= '9' || c == ';':
		default:
			return 0, false
		}
	}
	return 0, len(s) < 36 && !final
}

func appendByteEscape(dst []byte, c byte, line bool) []byte {
	if line {
		switch c {
		case '\n':
			return append(dst, '\\', 'n')
		case '\t':
			return append(dst, '\\', 't')
		}
	}
	if c == '\r' {
		return append(dst, '\\', 'r')
	}
	return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
}

// Escape returns s with every character that could act on a terminal as a
// visible escape; newline, tab and CR LF are kept.
func Escape(s string) string {
	if Safe(s) {
		return s
	}
	out, _ := appendEscaped(nil, []byte(s), mode{final: true})
	return string(out)
}

// Line is Escape for a field that must stay on one line (a table cell, a #
// comment): newline, tab and CR become \n, \t and \r too.
func Line(s string) string {
	if SafeLine(s) {
		return s
	}
	out, _ := appendEscaped(nil, []byte(s), mode{line: true, final: true})
	return string(out)
}

// Safe reports whether Escape would leave s as it is.
func Safe(s string) bool { return safe(s, false) }

// SafeLine reports whether Line would leave s as it is: no control
// character at all (tab included), no bidi control, valid UTF-8.
func SafeLine(s string) bool { return safe(s, true) }

func safe(s string, line bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < 0x80 {
			if line || (c != '\n' && c != '\t' && (c != '\r' || i+1 >= len(s) || s[i+1] != '\n')) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// Writer escapes everything written through it (see Escape) on its way to
// the underlying writer. A UTF-8 sequence or CR LF split across two writes
// is decided once both halves are in; Flush decides on what is left at the
// end. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte
	buf     []byte // reused for each chunk's escaped text
}

// NewWriter returns a Writer escaping onto w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write escapes p onto the underlying writer. It reports len(p) on
// success, whatever the escaping added.
func (w *Writer) Write(p []byte) (int, error) { return w.write(p, mode{}) }

// chunk is how much is escaped at a time: a large write (a 12 MB RUN
// script in JSON) is not copied whole.
const chunk = 64 << 10

func (w *Writer) write(p []byte, m mode) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	src := p
	if len(w.pending) > 0 {
		src = append(w.pending, p...)
	}
	for len(src) > 0 {
		k := min(len(src), chunk)
		out, n := appendEscaped(w.buf[:0], src[:k], m)
		if len(out) > 0 {
			if _, err := w.w.Write(out); err != nil {
				w.pending = nil
				return 0, err
			}
		}
		w.buf = out
		last := k == len(src)
		// Unfinished at a chunk's end, a sequence starts the next chunk
		// (it is shorter than a chunk, so each round moves on); at the
		// very end it waits for the next write.
		src = src[n:]
		if last {
			break
		}
	}
	w.pending = append(w.pending[:0:0], src...)
	return len(p), nil
}

// Flush writes out, escaped, what an unfinished sequence left pending.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	out, _ := appendEscaped(nil, w.pending, mode{final: true})
	w.pending = nil
	_, err := w.w.Write(out)
	return err
}

// view is a Writer seen through another mode: SGR kept, or JSON.
type view struct {
	w *Writer
	m mode
}

func (v view) Write(p []byte) (int, error) { return v.w.write(p, v.m) }

// JSONWriter returns a writer onto the same stream as w for JSON text:
// the controls encoding/json leaves raw (DEL, C1 and bidi controls) come
// out as \uXXXX escapes, which JSON reads back as the same characters,
// so the document means the same and no control reaches a terminal. A w
// that is not a Writer gets a Writer of its own.
func JSONWriter(w io.Writer) io.Writer {
	sw, ok := w.(*Writer)
	if !ok {
		sw = NewWriter(w)
	}
	return view{sw, mode{json: true}}
}

// WithSGR returns a writer onto the same stream as w that lets SGR colour
// sequences (ESC [ digits and ; m) through and escapes every other
// control. Use it only for text whose every image-derived piece is already
// escaped (diff --color does so). A w that is not a Writer is returned as
// it is.
func WithSGR(w io.Writer) io.Writer {
	if sw, ok := w.(*Writer); ok {
		return view{sw, mode{sgr: true}}
	}
	return w
}

// Unwrap returns the stream beneath a Writer (w itself otherwise).
func Unwrap(w io.Writer) io.Writer {
	switch v := w.(type) {
	case *Writer:
		return v.w
	case view:
		return v.w.w
	}
	return w
}

// IsTerminal reports whether w, or the stream beneath it, is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := Unwrap(w).(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Content returns where to write file content that is printed on purpose
// (strata cat): the raw stream beneath w when raw is set or that stream is
// not a terminal, so pipes and redirects get the exact bytes; the
// escaping w on a terminal. The caller flushes w as usual.
func Content(w io.Writer, raw bool) io.Writer {
	if raw || !IsTerminal(w) {
		if sw, ok := w.(*Writer); ok {
			// Whatever the verb printed before goes out first.
			_ = sw.Flush()
		}
		return Unwrap(w)
	}
	return w
}

// JSON escapes, inside JSON text, the controls encoding/json leaves raw
// (DEL, and what unsafeRune names: C1 and bidi controls) as \uXXXX, which
// a JSON decoder reads back as the same character. They can only occur
// inside strings, so the document means the same, and the Writer leaves
// the result alone (its own \x escapes are no JSON).
func JSON(b []byte) []byte {
	if safeJSON(b) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || r >= 0x80 && unsafeRune(r) {
			out = append(out, '\\', 'u')
			for s := 12; s >= 0; s -= 4 {
				out = append(out, hexDigits[(r>>s)&15])
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

func safeJSON(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] == 0x7f {
			return false
		}
		if b[i] < 0x80 {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}
