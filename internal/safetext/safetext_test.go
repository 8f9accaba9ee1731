package safetext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want, line string }{
		{"plain text", "plain text", "plain text"},
		{"tab\tand\nnewline", "tab\tand\nnewline", `tab\tand\nnewline`},
		{"ESC[2J\x1b[2J", `ESC[2J\x1b[2J`, `ESC[2J\x1b[2J`},
		{"bell\a back\b", `bell\x07 back\x08`, `bell\x07 back\x08`},
		{"osc52 \x1b]52;c;ZXZpbA==\x07", `osc52 \x1b]52;c;ZXZpbA==\x07`, `osc52 \x1b]52;c;ZXZpbA==\x07`},
		{"bare\rCR", `bare\rCR`, `bare\rCR`},
		{"crlf\r\nend", "crlf\r\nend", `crlf\r\nend`},
		{"del\x7f nul\x00", `del\x7f nul\x00`, `del\x7f nul\x00`},
		{"c1 csi \u009b31m", `c1 csi \u009b31m`, `c1 csi \u009b31m`},
		{"rlo \u202eevil\u202c", `rlo \u202eevil\u202c`, `rlo \u202eevil\u202c`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`, `isolate \u2066x\u2069`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`, `bad utf8 \xff\xfe`},
		{"cut \xe2\x82", `cut \xe2\x82`, `cut \xe2\x82`},
		{"unicode é 中 🙂", "unicode é 中 🙂", "unicode é 中 🙂"},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Line(c.in); got != c.line {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.line)
		}
		if Escape(Escape(c.in)) != Escape(c.in) || Line(Line(c.in)) != Line(c.in) {
			t.Errorf("escaping %q twice changes it", c.in)
		}
		if Safe(c.in) != (c.in == c.want) || SafeLine(c.in) != (c.in == c.line) {
			t.Errorf("Safe/SafeLine(%q) disagree with Escape/Line", c.in)
		}
		if !clean(Escape(c.in), false) || !clean(Line(c.in), true) {
			t.Errorf("escaped %q still holds a control character", c.in)
		}
	}
}

// clean reports whether s holds no terminal control: the property every
// text output of strata must have.
func clean(s string, line bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
			if line {
				return false
			}
		case r == '\r':
			if line || i+1 >= len(s) || s[i+1] != '\n' {
				return false
			}
		case r < 0x20 || r == 0x7f || unsafeRune(r):
			return false
		}
	}
	return true
}

// TestWriterSplitWrites: a sequence cut between two writes is judged whole,
// so splitting never lets a control through nor mangles a character.
func TestWriterSplitWrites(t *testing.T) {
	in := "a\x1b]0;title\x07 é\r\n中\rx \u202e \xff🙂\r"
	want := Escape(in)
	for cut := 0; cut <= len(in); cut++ {
		var b bytes.Buffer
		w := NewWriter(&b)
		w.Write([]byte(in[:cut]))
		w.Write([]byte(in[cut:]))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("cut at %d: %q, want %q", cut, b.String(), want)
		}
	}
	// One byte at a time.
	var b bytes.Buffer
	w := NewWriter(&b)
	for i := 0; i < len(in); i++ {
		if n, err := w.Write([]byte{in[i]}); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	w.Flush()
	if b.String() != want {
		t.Errorf("bytewise: %q, want %q", b.String(), want)
	}
}

// TestWithSGR: strata's own colour codes pass, everything else that starts
// with ESC is escaped, however the writes are cut.
func TestWithSGR(t *testing.T) {
	in := "\x1b[1mA\x1b[0m \x1b[31m-\x1b[0m \x1b]52;c;eA==\x07 \x1b[2J \x1b[38;5;1m \x1bc \x1b[999999999999999999999999999999999999m"
	want := "\x1b[1mA\x1b[0m \x1b[31m-\x1b[0m " + `\x1b]52;c;eA==\x07 \x1b[2J` + " \x1b[38;5;1m " + `\x1bc \x1b[999999999999999999999999999999999999m`
	for cut := 0; cut <= len(in); cut++ {
		var b bytes.Buffer
		w := NewWriter(&b)
		s := WithSGR(w)
		s.Write([]byte(in[:cut]))
		s.Write([]byte(in[cut:]))
		w.Flush()
		if b.String() != want {
			t.Fatalf("cut at %d:\n got %q\nwant %q", cut, b.String(), want)
		}
	}
	// The plain Writer lets no SGR through.
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Write([]byte("\x1b[31mred"))
	w.Flush()
	if b.String() != `\x1b[31mred` {
		t.Errorf("plain writer: %q", b.String())
	}
}

func TestContentPipesRawBytes(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Write([]byte("header \x1b\n"))
	raw := "\x1b[2J\x00\xff binary"
	// A bytes.Buffer is no terminal: content goes out as it is, after
	// what was printed before.
	Content(w, false).Write([]byte(raw))
	if b.String() != `header \x1b`+"\n"+raw {
		t.Errorf("got %q", b.String())
	}
}

func TestJSON(t *testing.T) {
	v := map[string]string{"k\u202e": "c1 \u009b rlo \u202e esc \x1b nl \n del \x7f"}
	raw, _ := json.Marshal(v)
	out := JSON(raw)
	if string(out) != Escape(string(out)) || !clean(string(out), false) {
		t.Errorf("JSON left controls: %q", out)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["k\u202e"] != v["k\u202e"] {
		t.Errorf("JSON changed the document: %v %q", err, back)
	}
}

// TestWriterLargeWrite: a write larger than the escaping chunk, with
// multi-byte characters and a CR LF across the chunk boundaries.
func TestWriterLargeWrite(t *testing.T) {
	for _, at := range []int{chunk - 2, chunk - 1, chunk} {
		in := strings.Repeat("a", at) + "é\r\n\x1b" + strings.Repeat("b", chunk) + "中\r"
		var b bytes.Buffer
		w := NewWriter(&b)
		w.Write([]byte(in))
		w.Flush()
		if b.String() != Escape(in) {
			t.Errorf("boundary at %d: output differs from Escape", at)
		}
	}
}

// TestJSONWriter: JSON written through JSONWriter stays the same document
// and carries no terminal control.
func TestJSONWriter(t *testing.T) {
	v := map[string]string{"k\u202e": "c1 \u009b rlo \u202e esc \x1b nl \n del \x7f"}
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := json.NewEncoder(JSONWriter(w)).Encode(v); err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["k\u202e"] != v["k\u202e"] {
		t.Errorf("document changed: %v %q", err, b.String())
	}
	if !clean(b.String(), false) {
		t.Errorf("controls left: %q", b.String())
	}
}
