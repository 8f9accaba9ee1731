package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line renders the instruction on one line for tables and diffs: keyword,
// flags and arguments, exec forms as JSON arrays, with the builders'
// shell and build-arg prefixes gone. It is for reading and aligning steps;
// the dockerfile package renders text that parses.
func (in Instruction) Line() string { return fold(in.Text()) }

// Text is Line with the instruction's own spacing kept (line breaks of a
// heredoc or a re-flowed RUN included): what `layers --no-trunc` prints.
func (in Instruction) Text() string {
	if !in.IsStep() {
		return "# " + strings.TrimSpace(in.Raw)
	}
	parts := append([]string{in.Keyword}, in.Flags...)
	switch {
	case in.ExecForm && len(in.Argv) > 0:
		parts = append(parts, jsonArray(in.Argv))
	case in.Keyword == "HEALTHCHECK" && len(in.Argv) > 0:
		switch in.Argv[0] {
		case "NONE":
			parts = append(parts, "NONE")
		case "CMD-SHELL":
			parts = append(parts, "CMD", strings.Join(in.Argv[1:], " "))
		default:
			parts = append(parts, "CMD", jsonArray(in.Argv[1:]))
		}
	case (in.Keyword == "COPY" || in.Keyword == "ADD") && in.ContentHash != "":
		parts = append(parts, in.ContentHash, in.Dest)
	case in.Keyword == "EXPOSE" && len(in.Argv) > 0:
		parts = append(parts, in.Argv...)
	case in.Args != "":
		parts = append(parts, in.Args)
	}
	return strings.Join(parts, " ")
}

// fold is strings.Join(strings.Fields(s), " ") — white space runs made one
// space, the ends trimmed — without a slice of every word (a 12 MB RUN
// script has millions), and without a copy when s is folded already.
func fold(s string) string {
	if folded(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	word := false // a word has been written since the last space
	pending := false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if unicode.IsSpace(r) {
			pending = word
		} else {
			if pending {
				b.WriteByte(' ')
				pending = false
			}
			b.WriteString(s[i : i+size])
			word = true
		}
		i += size
	}
	return b.String()
}

// folded reports whether fold would return s unchanged: no space at the
// ends, only single ASCII spaces between words.
func folded(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		space := unicode.IsSpace(r)
		if space && (prevSpace || r != ' ') {
			return false
		}
		prevSpace = space
		i += size
	}
	return !prevSpace || s == ""
}

func jsonArray(argv []string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(argv); err != nil {
		return strings.Join(argv, " ")
	}
	return strings.ReplaceAll(strings.TrimSpace(b.String()), `","`, `", "`)
}
