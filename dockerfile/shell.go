package dockerfile

import (
	"encoding/json"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// reflowWidth is the length above which a one-line RUN script is split onto
// continuation lines.
const reflowWidth = 100

// runLines renders a shell-form RUN script. Long scripts are split at their
// top-level `;` and `&&`/`||` boundaries, found by a real shell parser, and
// joined with `\` continuations. Only whitespace at those boundaries
// changes, so the Dockerfile parser hands the shell the same program. A
// script the parser rejects, or one that would be unsafe to split, is kept
// as recorded.
func runLines(prefix, script string, shell []string) string {
	switch {
	case strings.TrimSpace(script) == "":
		return prefix + jsonArray(append(append([]string{}, shell...), script))
	case strings.Contains(script, "\n"):
		return prefix + heredoc(script)
	case endsWithEscape(script):
		// A trailing backslash would continue the Dockerfile line.
		return prefix + jsonArray(append(append([]string{}, shell...), script))
	}
	if strings.HasPrefix(strings.TrimLeft(script, " \t"), "[") || strings.Contains(script, "<<") {
		// `[` would be read as exec form, `<<` as a Dockerfile heredoc.
		return prefix + jsonArray(append(append([]string{}, shell...), script))
	}
	if len(script) <= reflowWidth {
		return prefix + script
	}
	if restored, ok := restoreContinuations(script); ok {
		return prefix + restored
	}
	segs, ok := splitScript(script)
	if !ok || len(segs) < 2 {
		return prefix + script
	}
	return prefix + strings.Join(segs, " \\\n\t")
}

func endsWithEscape(s string) bool {
	return strings.HasSuffix(strings.TrimRight(s, " \t"), `\`)
}

// restoreContinuations puts back the line breaks of the original
// Dockerfile. Joining `\`-continued lines keeps the space before the
// backslash and the next line's indentation, so every " \t" in a recorded
// script marks a former line break. Inserting "\\\n" there is undone by the
// Dockerfile parser byte for byte, inside quotes too, so the shell runs the
// exact recorded text. A break is not put where the next line would start
// with '#', which the parser would drop as a comment.
func restoreContinuations(script string) (string, bool) {
	if !strings.Contains(script, " \t") {
		return "", false
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(script); i++ {
		b.WriteByte(script[i])
		if script[i] != ' ' || i+1 >= len(script) || script[i+1] != '\t' {
			continue
		}
		rest := strings.TrimLeft(script[i+1:], " \t")
		if rest == "" || rest[0] == '#' {
			continue
		}
		b.WriteString("\\\n")
		n++
	}
	return b.String(), n > 0
}

// splitScript cuts a one-line script into its top-level statements and
// && operands, each trimmed, in order. Concatenating them with
// whitespace gives back the same program.
func splitScript(script string) ([]string, bool) {
	f, err := syntax.NewParser(syntax.KeepComments(true), syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, false
	}
	hasComment := false
	syntax.Walk(f, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.Comment); ok {
			hasComment = true
		}
		return !hasComment
	})
	if hasComment {
		// A comment runs to the end of the line: splitting after it would
		// pull later text out of the comment.
		return nil, false
	}
	var cuts []int
	var walk func(s *syntax.Stmt)
	walk = func(s *syntax.Stmt) {
		b, ok := s.Cmd.(*syntax.BinaryCmd)
		if !ok || s.Negated || s.Background || s.Coprocess || len(s.Redirs) > 0 {
			return
		}
		if b.Op != syntax.AndStmt {
			return
		}
		walk(b.X)
		cuts = append(cuts, int(b.OpPos.Offset()))
		walk(b.Y)
	}
	for _, st := range f.Stmts {
		walk(st)
		if st.Semicolon.IsValid() {
			cuts = append(cuts, int(st.Semicolon.Offset())+1)
		}
	}
	var segs []string
	prev := 0
	for _, c := range append(cuts, len(script)) {
		if c < prev || c > len(script) {
			return nil, false
		}
		seg := strings.Trim(script[prev:c], " \t")
		prev = c
		if seg == "" {
			continue
		}
		if endsWithEscape(seg) || strings.HasPrefix(seg, "#") {
			return nil, false
		}
		segs = append(segs, seg)
	}
	return segs, true
}

// heredoc renders a multi-line script as `<<EOF … EOF`, which BuildKit runs
// as `<shell> -c <body>`, the same command the history records.
func heredoc(script string) string {
	delim := "EOF"
	for i := 1; heredocClash(script, delim); i++ {
		delim = fmt.Sprintf("EOF%d", i)
	}
	body := script
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return "<<" + delim + "\n" + body + delim
}

func heredocClash(body, delim string) bool {
	for _, l := range strings.Split(body, "\n") {
		if strings.TrimSpace(l) == delim {
			return true
		}
	}
	return false
}

// jsonArray renders an exec-form argument list.
func jsonArray(argv []string) string {
	if argv == nil {
		argv = []string{}
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(argv)
	s := strings.TrimSuffix(b.String(), "\n")
	return strings.ReplaceAll(s, `","`, `", "`)
}
