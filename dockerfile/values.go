package dockerfile

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/safetext"
)

// quoteWord quotes a value for ENV/LABEL/ARG so that BuildKit's word
// processing gives back exactly the value: double quotes, with the four
// characters that are special inside them escaped. A Dockerfile cannot
// write a newline or carriage return in a value, and strata never prints a
// terminal control character raw: those are written as spaces (line
// breaks) or visible escapes (safetext), and lossy tells the caller to say
// so in a comment.
func quoteWord(v string) (q string, lossy bool) {
	if !oneLineText(v) {
		lossy = true
		v = safetext.Escape(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(v))
	}
	if v != "" && isPlain(v) {
		return v, lossy
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range v {
		switch c {
		case '"', '\\', '$':
			b.WriteByte('\\')
		case '`':
			// BuildKit leaves ` alone inside double quotes.
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
	return b.String(), lossy
}

// lossyNote is the comment for a key or value quoteWord could not write
// as it is.
func lossyNote(what, key string) string {
	return "# NOTE: the " + what + " of " + oneLine(key) + " holds a line break or control character, which this Dockerfile " +
		"cannot write as it is; line breaks are shown as spaces, control characters as \\x escapes"
}

// oneLineText reports whether s can be printed raw on one Dockerfile line:
// no line break and no terminal control character (a tab is fine).
func oneLineText(s string) bool {
	return safetext.Safe(s) && !strings.ContainsAny(s, "\r\n")
}

func isPlain(v string) bool {
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("-_./:,+@%^", c):
		default:
			return false
		}
	}
	return true
}

// escapeDollar protects a literal value in instructions the builder runs
// through variable expansion (WORKDIR, USER, VOLUME, STOPSIGNAL, EXPOSE).
func escapeDollar(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	return strings.ReplaceAll(v, "$", `\$`)
}

// sortedKeys returns a set's keys in order.
func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// normPort makes "80" and "80/tcp" compare equal.
func normPort(p string) string {
	if !strings.Contains(p, "/") {
		return p + "/tcp"
	}
	return p
}

// showPort drops the default protocol for reading.
func showPort(p string) string { return strings.TrimSuffix(p, "/tcp") }

// healthcheckLine renders a config Healthcheck as a HEALTHCHECK instruction.
func healthcheckLine(hc *image.Healthcheck, shell []string) (string, bool) {
	if hc == nil || len(hc.Test) == 0 {
		return "", false
	}
	switch hc.Test[0] {
	case "NONE":
		return "HEALTHCHECK NONE", true
	case "CMD", "CMD-SHELL":
	default:
		return "", false
	}
	var opts []string
	add := func(name string, d time.Duration) {
		if d > 0 {
			opts = append(opts, fmt.Sprintf("--%s=%s", name, d))
		}
	}
	add("interval", hc.Interval)
	add("timeout", hc.Timeout)
	add("start-period", hc.StartPeriod)
	add("start-interval", hc.StartInterval)
	if hc.Retries > 0 {
		opts = append(opts, fmt.Sprintf("--retries=%d", hc.Retries))
	}
	line := "HEALTHCHECK "
	if len(opts) > 0 {
		line += strings.Join(opts, " ") + " "
	}
	if hc.Test[0] == "CMD-SHELL" && len(hc.Test) == 2 && oneLineText(hc.Test[1]) &&
		strings.TrimSpace(hc.Test[1]) != "" && !endsWithEscape(hc.Test[1]) && !strings.HasPrefix(strings.TrimSpace(hc.Test[1]), "[") {
		return line + "CMD " + hc.Test[1], true
	}
	if hc.Test[0] == "CMD-SHELL" {
		// Exec form with the shell spelled out runs the same command.
		return line + "CMD " + jsonArray(append(append([]string{}, shell...), strings.Join(hc.Test[1:], " "))), true
	}
	return line + "CMD " + jsonArray(hc.Test[1:]), true
}

// commandLine renders CMD/ENTRYPOINT from an argv: shell form when the argv
// is exactly `<shell in effect> <script>`, JSON otherwise.
func commandLine(kw string, argv []string, shell []string) string {
	if len(argv) == len(shell)+1 && equal(argv[:len(shell)], shell) {
		s := argv[len(shell)]
		if s != "" && oneLineText(s) && !endsWithEscape(s) && !strings.HasPrefix(strings.TrimSpace(s), "[") && strings.TrimSpace(s) == s {
			return kw + " " + s
		}
	}
	return kw + " " + jsonArray(argv)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// oneLine makes free text safe inside a # comment: on one line, every
// control character a visible escape (safetext.Line), at most 300 bytes.
func oneLine(s string) string {
	if len(s) > 1200 {
		s = s[:1200] // escaping at most quadruples: enough for 300 bytes
	}
	s = flat(s)
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// flat keeps s on one comment line, escaped.
func flat(s string) string { return safetext.Line(s) }

// humanSize renders a byte count the way docker does.
func humanSize(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
