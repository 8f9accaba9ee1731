// Package jsonindent indents compact JSON as it streams past, the way
// json.Indent does but without holding the document: encoding/json's
// Encoder with SetIndent keeps a second, indented copy of the whole
// output, which for an image with a 12 MB RUN script is hundreds of MB.
package jsonindent

import "io"

// flushAt is how much indented output is held before it is written.
const flushAt = 64 << 10

// Writer indents the compact JSON written to it onto w, each level by
// indent. The input must be valid JSON (an Encoder's output); whitespace
// outside strings is dropped and replaced by the indentation.
type Writer struct {
	w      io.Writer
	indent string
	depth  int
	inStr  bool
	escape bool
	// open: an opening bracket was written; its newline waits for the
	// next token, so an empty {} or [] stays on one line.
	open bool
	buf  []byte
}

// New returns a Writer indenting onto w.
func New(w io.Writer, indent string) *Writer { return &Writer{w: w, indent: indent} }

// Write indents p. It reports len(p) on success.
func (j *Writer) Write(p []byte) (int, error) {
	for _, c := range p {
		j.byte(c)
		if len(j.buf) >= flushAt {
			if err := j.flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := j.flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (j *Writer) flush() error {
	if len(j.buf) == 0 {
		return nil
	}
	_, err := j.w.Write(j.buf)
	j.buf = j.buf[:0]
	return err
}

func (j *Writer) byte(c byte) {
	if j.inStr {
		j.buf = append(j.buf, c)
		switch {
		case j.escape:
			j.escape = false
		case c == '\\':
			j.escape = true
		case c == '"':
			j.inStr = false
		}
		return
	}
	switch c {
	case ' ', '\t', '\r':
		return
	case '\n':
		if j.depth == 0 {
			j.buf = append(j.buf, c) // the Encoder's newline after a value
		}
		return
	case '}', ']':
		if j.open {
			j.open = false
		} else {
			j.newline(j.depth - 1)
		}
		j.depth--
		j.buf = append(j.buf, c)
		return
	}
	if j.open {
		j.open = false
		j.newline(j.depth)
	}
	j.buf = append(j.buf, c)
	switch c {
	case '{', '[':
		j.depth++
		j.open = true
	case ',':
		j.newline(j.depth)
	case ':':
		j.buf = append(j.buf, ' ')
	case '"':
		j.inStr = true
	}
}

func (j *Writer) newline(depth int) {
	j.buf = append(j.buf, '\n')
	for range depth {
		j.buf = append(j.buf, j.indent...)
	}
}
