package dockerfile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/strata-tool/strata/internal/safetext"
)

// reflowWidth is the length above which a one-line RUN script is split onto
// continuation lines.
const reflowWidth = 100

// Bounds on what is handed to the shell parser. It takes about 140 times
// a script's size in memory and recurses once per operator and bracket, so
// a hostile RUN (15 MB, or 300,000 `&&` or nested brackets) would take
// gigabytes or overflow the stack. Scripts past these bounds are printed
// as recorded; real ones are far below them.
const (
	maxReflowBytes = 64 << 10
	maxReflowOps   = 2000 // top-level && and ; cut points
	maxReflowDepth = 100  // nesting of brackets, quotes' substitutions
)

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
	case !safetext.Safe(script) || strings.Contains(script, "\r"):
		// A control character (ESC, BEL, a bare CR…) cannot be shown
		// raw; JSON writes it as a \u escape the shell still receives.
		// A heredoc would lose a CR before each line end.
		return prefix + jsonArray(append(append([]string{}, shell...), script))
	case strings.Contains(script, "\n") && !longLine(script):
		return prefix + heredoc(script)
	case strings.Contains(script, "\n"):
		// A heredoc line cannot be continued: JSON, which can.
		return prefix + jsonArray(append(append([]string{}, shell...), script))
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
	if len(script) > maxReflowBytes {
		return prefix + script // fitLine breaks it for the parser
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

// maxLine is the longest physical line strata writes: BuildKit's parser
// refuses lines of 64 KiB or more.
const maxLine = 32 << 10

// fitLine breaks a one-line instruction longer than maxLine with `\`
// continuations, which the Dockerfile parser removes before it reads the
// instruction, so every form (shell, JSON, flags) reads back byte for
// byte. A break goes only before a printable character that is not a blank
// or '#' (a continuation line starting with either changes meaning) and
// after one that is not a backslash (which would escape ours). A line with
// no such place is returned as it is.
func fitLine(s string) string {
	if len(s) <= maxLine {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*(len(s)/(maxLine/2)+1))
	for len(s) > maxLine {
		cut := maxLine
		for cut > maxLine/2 && !breakable(s, cut) {
			cut--
		}
		if cut == maxLine/2 {
			return b.String() + s
		}
		b.WriteString(s[:cut] + "\\\n")
		s = s[cut:]
	}
	return b.String() + s
}

func breakable(s string, i int) bool {
	c := s[i]
	return c > ' ' && c < 0x7f && c != '#' && s[i-1] != '\\'
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
	if tooComplex(script) {
		return nil, false
	}
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
	for _, st := range f.Stmts {
		cuts = appendAndCuts(cuts, st)
		if st.Semicolon.IsValid() {
			cuts = append(cuts, int(st.Semicolon.Offset())+1)
		}
	}
	sort.Ints(cuts)
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

// appendAndCuts adds the offsets of the && operators that join st's
// top-level operands, walking the operator tree with an explicit stack
// rather than recursion.
func appendAndCuts(cuts []int, st *syntax.Stmt) []int {
	stack := []*syntax.Stmt{st}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		b, ok := s.Cmd.(*syntax.BinaryCmd)
		if !ok || s.Negated || s.Background || s.Coprocess || len(s.Redirs) > 0 || b.Op != syntax.AndStmt {
			continue
		}
		cuts = append(cuts, int(b.OpPos.Offset()))
		stack = append(stack, b.X, b.Y)
	}
	return cuts
}

// tooComplex reports whether a script is past what the shell parser is
// given (see maxReflowOps, maxReflowDepth). The count is rough — brackets
// and operators inside quotes count too — which errs on the side of
// printing a script as recorded.
func tooComplex(script string) bool {
	ops, depth, deepest := 0, 0, 0
	for i := 0; i < len(script); i++ {
		switch script[i] {
		case '(', '{', '[', '`':
			depth++
			deepest = max(deepest, depth)
		case ')', '}', ']':
			depth = max(depth-1, 0)
		case ';', '&', '|':
			ops++
		}
	}
	return ops > 2*maxReflowOps || deepest > maxReflowDepth
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

// longLine reports whether any line of s is past maxLine.
func longLine(s string) bool {
	for len(s) > maxLine {
		i := strings.IndexByte(s, '\n')
		if i < 0 || i > maxLine {
			return true
		}
		s = s[i+1:]
	}
	return false
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
	// JSON writes C0 controls as \u escapes; safetext.JSON does the same
	// for the C1 and bidi controls it leaves raw. BuildKit decodes both.
	return string(safetext.JSON([]byte(strings.ReplaceAll(s, `","`, `", "`))))
}
