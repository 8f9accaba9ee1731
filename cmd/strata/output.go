package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/strata-tool/strata/internal/jsonindent"
	"github.com/strata-tool/strata/internal/safetext"
)

// outputFormat is -o: one rule for every verb.
type outputFormat int

const (
	formatText outputFormat = iota
	formatJSON
)

var outputFormats = []string{"text", "json"}

func parseOutput(s string) (outputFormat, error) {
	switch s {
	case "text", "":
		return formatText, nil
	case "json":
		return formatJSON, nil
	}
	return formatText, fmt.Errorf("-o %q: want text or json", s)
}

// emit writes v as JSON with -o json, else calls text.
func (a *app) emit(w io.Writer, v any, text func(io.Writer) error) error {
	a.indexed()
	out, flush := buffered(w)
	var err error
	switch s, ok := v.(jsonStreamer); {
	case ok && a.format == formatJSON:
		err = writeStreamedJSON(out, s.jsonFields())
	case a.format == formatJSON:
		err = writeJSON(out, v)
	default:
		err = text(out)
	}
	if ferr := flush(); err == nil {
		err = ferr
	}
	return err
}

// buffered batches output to a pipe or file: verbs write a line (or a
// cell) at a time, and a listing of 100,000 paths otherwise costs as many
// write system calls (about half of `files`' time). The buffer sits
// beneath the escaping writer, so what it batches is already escaped. A
// terminal is written to as before: its width decides layouts, and a
// person reads it as it comes.
func buffered(w io.Writer) (io.Writer, func() error) {
	raw := safetext.Unwrap(w)
	if f, ok := raw.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w, func() error { return nil }
	}
	bw := bufio.NewWriterSize(raw, 64<<10)
	if _, escaping := w.(*safetext.Writer); !escaping {
		return bw, bw.Flush
	}
	sw := safetext.NewWriter(bw)
	return sw, func() error {
		err := sw.Flush()
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		return err
	}
}

// writeJSON writes v indented. encoding/json escapes C0 controls itself;
// safetext.JSONWriter escapes the DEL, C1 and bidi controls it leaves raw,
// as JSON \u escapes. The Encoder writes compact JSON and jsonindent
// indents it as it streams: an Encoder's own indenting keeps a second copy
// of the whole output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(jsonindent.New(safetext.JSONWriter(w), "  "))
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
