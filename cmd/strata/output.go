package main

import (
	"encoding/json"
	"fmt"
	"io"
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
	if a.format == formatJSON {
		return writeJSON(w, v)
	}
	return text(w)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
