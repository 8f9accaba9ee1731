package main

import (
	"encoding/json"
	"fmt"
	"io"

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
	if s, ok := v.(jsonStreamer); ok && a.format == formatJSON {
		return writeStreamedJSON(w, s.jsonFields())
	}
	if a.format == formatJSON {
		return writeJSON(w, v)
	}
	return text(w)
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
