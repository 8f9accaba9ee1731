package history

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// keyword fills in from a keyword and its argument text. original is true
// when the text is the Dockerfile line as written (buildah, kaniko) rather
// than the builder's own rendering (classic, BuildKit).
func (t *Translator) keyword(in *Instruction, kw, rest string, original bool) {
	in.Keyword = kw
	in.Confidence = Exact
	switch kw {
	case "RUN":
		t.run(in, rest, original)
	case "COPY", "ADD":
		copyArgs(in, rest)
	case "ENV":
		in.Pairs = splitPairs(rest, t.envKeys, original)
		in.Args = rest
	case "LABEL":
		in.Pairs = splitPairs(rest, t.labelKeys, original)
		in.Args = rest
	case "ARG":
		in.Pairs = splitArgs(rest)
		for _, p := range in.Pairs {
			t.argNames[p.Key] = true
		}
		in.Args = rest
	case "CMD", "ENTRYPOINT":
		in.Args = rest
		if argv, ok := parseList(rest); ok {
			in.Argv, in.ExecForm = argv, true
		} else if original {
			in.Shell = t.Shell()
		} else {
			in.Unparsed = true
		}
	case "SHELL":
		in.Args = rest
		argv, ok := parseList(rest)
		if !ok {
			argv, ok = bareList(rest)
		}
		if ok && len(argv) > 0 {
			in.Argv = argv
			t.shell = argv
			t.addShell(strings.Join(argv, " "))
		} else {
			in.Unparsed = true
		}
	case "VOLUME":
		in.Args = rest
		if argv, ok := parseList(rest); ok {
			in.Argv = argv
		} else if argv, ok := bareList(rest); ok {
			in.Argv = argv
		} else {
			in.Argv = strings.Fields(rest)
		}
	case "EXPOSE":
		in.Args = rest
		if ports, ok := parseExpose(rest); ok {
			in.Argv = ports
		} else {
			in.Unparsed = true
			in.Note = "EXPOSE text is not readable (BuildKit 1.18 struct dump); ports come from the config"
		}
	case "HEALTHCHECK":
		in.Args = rest
		if argv, ok := parseHealthTest(rest); ok {
			in.Argv = argv
		} else if argv, exact, ok := plusVHealthTest(rest); ok {
			in.Argv = argv
			if !exact {
				in.Confidence = Guess
				in.Note = "exec-form HEALTHCHECK: argument boundaries guessed from BuildKit's space-joined dump"
			}
		} else if argv, ok := originalHealthTest(rest); ok && original {
			in.Argv = argv
		} else {
			in.Unparsed = true
		}
	case "USER", "STOPSIGNAL":
		in.Args = rest
		// Engines of 2015–2018 wrote `USER [gg]`, `STOPSIGNAL [SIGTERM]`.
		if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && !strings.Contains(rest, `"`) {
			in.Args = strings.TrimSpace(rest[1 : len(rest)-1])
		}
	case "WORKDIR", "MAINTAINER", "ONBUILD":
		in.Args = strings.TrimRight(rest, " ")
	case "FROM":
		in.Args = rest
	}
	if in.Unparsed && in.Confidence == Exact {
		in.Confidence = Partial
	}
}

// run reads the text after "RUN " (BuildKit, kaniko, buildah originals).
func (t *Translator) run(in *Instruction, rest string, original bool) {
	if original {
		for strings.HasPrefix(rest, "--") {
			tok, r, _ := strings.Cut(rest, " ")
			in.Flags = append(in.Flags, tok)
			rest = strings.TrimLeft(r, " ")
		}
		if argv, ok := parseJSONList(rest); ok && strings.HasPrefix(rest, "[") {
			in.ExecForm, in.Argv, in.Args = true, argv, rest
			return
		}
		in.Shell = t.Shell()
		t.runScript(in, rest)
		return
	}
	argConf := Exact
	if m := argPrefixRe.FindStringSubmatch(rest); m != nil {
		args, r, ok := t.splitBuildArgs(rest[len(m[0]):], atoi(m[1]))
		if ok {
			in.BuildArgs = args
			for _, a := range args {
				t.argNames[a.Key] = true
			}
			if r == "" || !t.startsWithShell(r) {
				argConf = Guess
			}
			rest = r
		}
	}
	// BuildKit never records --mount/--network/--security.
	in.Lost = append(in.Lost, "RUN flags (--mount, --network, --security) are not recorded by BuildKit")
	if shell, script, ok := t.matchShell(rest); ok && !strings.Contains(strings.Join(shell, " "), "#(nop)") {
		in.Shell = shell
		t.runScript(in, script)
		if in.Confidence == Exact {
			in.Confidence = argConf
		}
		return
	}
	in.ExecForm = true
	in.Args = rest
	in.Argv = strings.Fields(rest)
	in.Confidence = Exact
	if len(in.Argv) > 1 || argConf == Guess {
		in.Confidence = Guess
		in.Note = "exec form: argument boundaries guessed from the space-joined history"
	}
}

var (
	hashSrcRe = regexp.MustCompile(`^((?:file|dir|multi):[0-9a-f]+) in (.*)$`)
	oldSrcRe  = regexp.MustCompile(`^(\S+) in (\S+)\s*$`)
	summaryRe = regexp.MustCompile(`(file|dir|multi):[0-9a-f]`)
)

// copyArgs reads COPY/ADD: flags, then either the classic/buildah
// `<kind>:<hash> in <dest>` summary or BuildKit/kaniko source names.
func copyArgs(in *Instruction, rest string) {
	rest = strings.TrimRight(rest, " ")
	for strings.HasPrefix(rest, "--") {
		tok, r, _ := strings.Cut(rest, " ")
		// The classic builder glues the summary to --chown:
		// `--chown=1000:1000file:<hash> in /x`.
		if loc := summaryRe.FindStringIndex(tok); loc != nil && loc[0] > 2 {
			in.Flags = append(in.Flags, tok[:loc[0]])
			rest = tok[loc[0]:] + " " + r
			break
		}
		in.Flags = append(in.Flags, tok)
		rest = strings.TrimLeft(r, " ")
	}
	rest = strings.TrimRight(rest, " ")
	in.Args = rest
	if m := hashSrcRe.FindStringSubmatch(rest); m != nil {
		in.ContentHash = m[1]
		in.Dest = strings.TrimSpace(m[2])
		in.Confidence = Partial
		in.Lost = append(in.Lost, "source names (the builder kept only a content hash, "+m[1][:min(len(m[1]), 17)]+"…)")
		in.Lost = append(in.Lost, "--from=<stage> if the files came from another stage")
		return
	}
	if m := oldSrcRe.FindStringSubmatch(rest); m != nil && !strings.Contains(rest, "<<") {
		in.Source, in.Dest = []string{m[1]}, m[2]
		return
	}
	if strings.Contains(rest, "<<") {
		in.Confidence = Partial
		in.Lost = append(in.Lost, "heredoc file content")
	}
	var parts []string
	if argv, ok := parseJSONList(rest); ok && strings.HasPrefix(rest, "[") {
		parts = argv
	} else {
		parts = strings.Fields(rest)
	}
	if len(parts) < 2 {
		in.Unparsed = true
		in.Confidence = Partial
		return
	}
	in.Source, in.Dest = parts[:len(parts)-1], parts[len(parts)-1]
	hasFrom := false
	for _, f := range in.Flags {
		if strings.HasPrefix(f, "--from=") {
			hasFrom = true
		}
	}
	if in.Builder == BuildKit && !hasFrom {
		in.Lost = append(in.Lost, "--from=<stage|image> (BuildKit drops it)")
		for _, s := range in.Source {
			if strings.HasPrefix(s, "/") {
				in.Note = "absolute source path: probably copied from another build stage or image"
				break
			}
		}
	}
}

var identRe = regexp.MustCompile(`(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=`)

// splitBuildArgs reads the n `k=v` pairs of a `|n` prefix. Values are
// unquoted and may hold spaces, so the end is anchored on the shell that
// follows, and pair starts prefer names already declared by ARG entries.
func (t *Translator) splitBuildArgs(s string, n int) ([]KV, string, bool) {
	if n == 0 {
		return nil, s, true
	}
	if n > 1000 {
		return nil, s, false
	}
	if kvs, rest, ok := t.anchoredArgs(s, n); ok {
		return kvs, rest, true
	}
	// No shell follows (exec form). Values the same build recorded on an
	// anchored prefix tell where each one ends.
	if kvs, rest, ok := t.knownArgs(s, n); ok {
		return kvs, rest, true
	}
	// Otherwise the last value ends at the first space.
	locs := identRe.FindAllStringSubmatchIndex(s, -1)
	if len(locs) < n {
		return nil, s, false
	}
	last := locs[n-1]
	end := strings.IndexByte(s[last[1]:], ' ')
	if end < 0 {
		end = len(s) - last[1]
	}
	cut := last[1] + end
	kvs, ok := t.pairsN(s[:cut], n)
	if !ok {
		return nil, s, false
	}
	return kvs, strings.TrimLeft(s[cut:], " "), true
}

// knownArgs splits a prefix whose values all match recorded ones.
func (t *Translator) knownArgs(s string, n int) ([]KV, string, bool) {
	var out []KV
	rest := s
	for range n {
		k, after, ok := strings.Cut(rest, "=")
		v, known := t.argValues[k]
		if !ok || !known || !strings.HasPrefix(after, v) {
			return nil, s, false
		}
		after = after[len(v):]
		if after != "" && after[0] != ' ' {
			return nil, s, false
		}
		out = append(out, KV{Key: k, Value: v})
		rest = strings.TrimPrefix(after, " ")
	}
	return out, rest, true
}

// maxArgPrefix bounds the length of a `|N k=v …` build-arg prefix that is
// split (real ones are a few hundred bytes).
const maxArgPrefix = 16 << 10

// anchoredArgs splits the prefix where a known shell follows it.
func (t *Translator) anchoredArgs(s string, n int) ([]KV, string, bool) {
	if n == 0 || n > 1000 {
		return nil, s, n == 0
	}
	if m := identRe.FindStringSubmatchIndex(s[:min(len(s), 256)]); m == nil || m[2] != 0 {
		return nil, s, false // pairsN needs a name= first
	}
	// Try each position where a known shell starts, earliest first, in
	// the first maxArgPrefix bytes: each try reads the prefix again, so an
	// unbounded search is quadratic in a hostile line's length.
	for i := 0; i < min(len(s), maxArgPrefix); i++ {
		if i > 0 && s[i-1] != ' ' {
			continue
		}
		if !t.startsWithShell(s[i:]) || i == 0 {
			continue
		}
		if kvs, ok := t.pairsN(s[:i-1], n); ok {
			return kvs, s[i:], true
		}
		// buildah 1.28 counts words, not pairs: `|4 A=x B=two words here`.
		if locs := identRe.FindAllStringSubmatchIndex(s[:i-1], -1); len(locs) > 0 && len(locs) < n {
			if kvs, ok := t.pairsN(s[:i-1], len(locs)); ok {
				return kvs, s[i:], true
			}
		}
	}
	return nil, s, false
}

// pairsN splits text into exactly n k=v pairs.
func (t *Translator) pairsN(text string, n int) ([]KV, bool) {
	locs := identRe.FindAllStringSubmatchIndex(text, -1)
	if len(locs) < n || len(locs) == 0 || locs[0][2] != 0 {
		return nil, false
	}
	chosen := locs[:n]
	if len(locs) > n {
		// Prefer starts whose names earlier ARG entries declared.
		known := [][]int{locs[0]}
		for _, l := range locs[1:] {
			if t.argNames[text[l[2]:l[3]]] {
				known = append(known, l)
			}
		}
		if len(known) == n {
			chosen = known
		}
	}
	out := make([]KV, n)
	for i, l := range chosen {
		end := len(text)
		if i+1 < n {
			end = chosen[i+1][2] - 1
		}
		if end < l[1] {
			return nil, false
		}
		out[i] = KV{Key: text[l[2]:l[3]], Value: text[l[1]:end]}
	}
	return out, true
}

// splitPairs reads ENV/LABEL text `k=v k2=v2`: values are unquoted in
// builder-rendered text, so a new pair starts only at a key the config
// knows. Original text (buildah) may use the legacy `ENV k v` form.
func splitPairs(s string, anchors map[string]bool, original bool) []KV {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	first, rest, _ := strings.Cut(s, " ")
	if !strings.Contains(first, "=") {
		return []KV{{Key: first, Value: strings.TrimSpace(rest)}}
	}
	type start struct{ k0, k1, v0 int }
	var starts []start
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i-1] != ' ' && s[i-1] != '\t' {
			continue
		}
		// The key runs to the next '=' and holds no blank: read only
		// up to the first '=' or blank, so the scan stays linear.
		eq := strings.IndexAny(s[i:], "= \t")
		if eq < 0 || eq == 0 && s[i] == '=' {
			break
		}
		if s[i+eq] != '=' {
			continue
		}
		key := s[i : i+eq]
		if i == 0 || anchors[key] || anchors[unquote(key)] {
			starts = append(starts, start{i, i + eq, i + eq + 1})
		}
	}
	out := make([]KV, 0, len(starts))
	for j, st := range starts {
		end := len(s)
		if j+1 < len(starts) {
			end = starts[j+1].k0
		}
		v := strings.TrimRight(s[st.v0:end], " \t")
		k := s[st.k0:st.k1]
		if original {
			k, v = unquote(k), unquote(v)
		}
		out = append(out, KV{Key: k, Value: v})
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// splitArgs reads `ARG a`, `ARG a=b`, buildah's `ARG a b c`, and BuildKit's
// several-pairs form; a token that does not start a name continues the
// previous value (values may hold spaces).
func splitArgs(s string) []KV {
	var out []KV
	for _, tok := range strings.Split(strings.TrimSpace(s), " ") {
		k, v, hasEq := strings.Cut(tok, "=")
		continues := len(out) > 0 && !hasEq && !out[len(out)-1].NoValue
		if isIdent(k) && !continues {
			out = append(out, KV{Key: k, Value: v, NoValue: !hasEq})
			continue
		}
		if len(out) == 0 {
			continue
		}
		last := &out[len(out)-1]
		last.Value += " " + tok
		last.NoValue = false
	}
	return out
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// parseList reads a JSON array or a Go %q-rendered []string
// (`["nginx" "-g" "daemon off;"]`, no commas).
func parseList(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if argv, ok := parseJSONList(s); ok {
		return argv, true
	}
	return parseGoQuoted(s)
}

func parseJSONList(s string) ([]string, bool) {
	var argv []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &argv); err != nil {
		return nil, false
	}
	return argv, true
}

// parseGoQuoted decodes `["a" "b\x00"]` one token at a time with Go
// unquoting (JSON would reject \x escapes).
func parseGoQuoted(s string) ([]string, bool) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, false
	}
	out, rest, ok := goQuotedPrefix(s[1:])
	if !ok || strings.TrimSpace(rest) != "]" {
		return nil, false
	}
	return out, true
}

// goQuotedPrefix reads `"a" "b"` up to the first character that does not
// start a quoted string and returns the remainder.
func goQuotedPrefix(s string) ([]string, string, bool) {
	out := []string{}
	for {
		s = strings.TrimLeft(s, " ")
		if !strings.HasPrefix(s, `"`) {
			return out, s, true
		}
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, s, false
		}
		v, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return nil, s, false
		}
		out = append(out, v)
		s = s[end+1:]
	}
}

// bareList reads Go's %v of a []string: `[/a /b]`.
func bareList(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, false
	}
	return strings.Fields(s[1 : len(s)-1]), true
}

var (
	portRe     = regexp.MustCompile(`^\d+(-\d+)?(/[a-z]+)?$`)
	mapPortsRe = regexp.MustCompile(`(\d+(?:-\d+)?/[a-z]+):\{\}`)
)

// parseExpose reads every EXPOSE format: plain `80 443/udp`, BuildKit ≤1.17
// `map[80/tcp:{}]`, ≥1.19 `[80/tcp]`. BuildKit 1.18's struct dumps fail.
func parseExpose(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if inner, ok := strings.CutPrefix(s, "map["); ok {
		ms := mapPortsRe.FindAllStringSubmatch(inner, -1)
		if len(ms) == 0 && strings.TrimSuffix(inner, "]") != "" {
			return nil, false
		}
		out := make([]string, 0, len(ms))
		for _, m := range ms {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return out, true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	f := strings.Fields(s)
	for _, p := range f {
		if !portRe.MatchString(p) {
			return nil, false
		}
	}
	return f, len(f) > 0
}

// parseHealthTest reads the test command of a HEALTHCHECK: `NONE`, the
// `%q` struct form `&{["CMD-SHELL" "curl …"] "30s" …}`. BuildKit's `%+v`
// form is read by plusVHealthTest.
func parseHealthTest(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if s == "NONE" {
		return []string{"NONE"}, true
	}
	if inner, ok := strings.CutPrefix(s, "&{["); ok {
		argv, rest, ok := goQuotedPrefix(inner)
		if ok && strings.HasPrefix(rest, "]") && len(argv) > 0 {
			return argv, true
		}
	}
	return nil, false
}

// plusVHealthTest reads the test command of BuildKit's `%+v` dump,
// `{Test:[CMD-SHELL curl -f http://x/] Interval:30s …}`: the shell form is
// exact (one string after CMD-SHELL); an exec form's arguments were joined
// by spaces, so splitting them again is a guess (exact is false unless there
// is only one). The options are left to the config.
func plusVHealthTest(s string) (argv []string, exact, ok bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(s), "{Test:[")
	if !ok {
		return nil, false, false
	}
	end := strings.Index(inner, "] Interval:")
	if end < 0 {
		return nil, false, false
	}
	kind, rest, _ := strings.Cut(inner[:end], " ")
	switch {
	case kind == "NONE" && rest == "":
		return []string{"NONE"}, true, true
	case kind == "CMD-SHELL" && strings.TrimSpace(rest) != "":
		return []string{"CMD-SHELL", rest}, true, true
	case kind == "CMD" && strings.TrimSpace(rest) != "":
		f := strings.Fields(rest)
		return append([]string{"CMD"}, f...), len(f) == 1, true
	}
	return nil, false, false
}

// originalHealthTest reads the test of a HEALTHCHECK line as written
// (`--interval=5s CMD curl x`, `CMD ["a"]`), which buildah records; the
// options are left to the config.
func originalHealthTest(s string) ([]string, bool) {
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.HasPrefix(f, "--") {
			continue
		}
		if f != "CMD" || i == len(fields)-1 {
			return nil, false
		}
		rest := strings.TrimSpace(s[strings.Index(s, " CMD ")+5:])
		if strings.HasPrefix(s, "CMD ") {
			rest = strings.TrimSpace(s[4:])
		}
		if argv, ok := parseJSONList(rest); ok {
			return append([]string{"CMD"}, argv...), true
		}
		return []string{"CMD-SHELL", rest}, true
	}
	return nil, false
}
