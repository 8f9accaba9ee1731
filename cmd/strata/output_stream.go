package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/strata-tool/strata/internal/jsonindent"
	"github.com/strata-tool/strata/internal/safetext"
)

// jsonStreamer is a report whose JSON is written one field at a time and
// its long lists one element at a time, as writeJSON would write it but
// without ever holding the whole encoded document (encoding/json's Encoder
// does: 11 MB for a 16,000-step history, and its growth copies on top).
type jsonStreamer interface {
	jsonFields() []jsonField
}

// jsonField is one member of the object, in struct order. With list set,
// value (the slice itself, for its null) is written element by element.
type jsonField struct {
	name  string
	value any
	list  []any
	omit  bool
}

// writeStreamedJSON writes the fields as writeJSON writes a struct: the
// same bytes, piece by piece through the same indenter and escaper.
func writeStreamedJSON(w io.Writer, fields []jsonField) error {
	out := jsonindent.New(safetext.JSONWriter(w), "  ")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var err error
	raw := func(s string) {
		if err == nil {
			_, err = io.WriteString(out, s)
		}
	}
	put := func(v any) {
		if err != nil {
			return
		}
		buf.Reset()
		if err = enc.Encode(v); err == nil {
			_, err = out.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		}
	}
	raw("{")
	sep := ""
	for _, f := range fields {
		if f.omit {
			continue
		}
		raw(sep)
		sep = ","
		put(f.name)
		raw(":")
		if f.list == nil {
			put(f.value)
			continue
		}
		raw("[")
		for i, e := range f.list {
			if i > 0 {
				raw(",")
			}
			put(e)
		}
		raw("]")
	}
	raw("}\n")
	return err
}

// listOf lists a slice's elements for jsonField.list: nil for a nil slice
// (written as null, as encoding/json does), else one pointer an element.
func listOf[T any](s []T) []any {
	if s == nil {
		return nil
	}
	l := make([]any, len(s))
	for i := range s {
		l[i] = &s[i]
	}
	return l
}
