package jsonindent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestSameAsEncoderIndent: the streamed indentation is byte for byte what
// an Encoder with SetIndent writes, however the input is cut into writes.
func TestSameAsEncoderIndent(t *testing.T) {
	docs := []any{
		map[string]any{"a": []any{}, "b": map[string]any{}, "c": []any{1, "x,y:{}[]", map[string]any{"d": nil}}, "e": `q"\u2028\` + "\n"},
		[]any{[]any{[]any{}}, "", 1.5, true, map[string]any{"k": []string{"a", "b"}}},
		"just a string", 42, nil,
		map[string]any{"long": strings.Repeat(`"\ x`, 40000)},
	}
	for _, d := range docs {
		var want, compact bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
		enc = json.NewEncoder(&compact)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
		for _, step := range []int{1, 7, len(compact.Bytes())} {
			var got bytes.Buffer
			w := New(&got, "  ")
			b := compact.Bytes()
			for i := 0; i < len(b); i += step {
				if _, err := w.Write(b[i:min(i+step, len(b))]); err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != want.String() {
				t.Errorf("writes of %d bytes:\n got %.300q\nwant %.300q", step, got.String(), want.String())
			}
		}
	}
}
