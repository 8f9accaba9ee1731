package dockerfile

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
)

// entry renders one history entry below FROM.
func (r *renderer) entry(i int, in history.Instruction, h image.HistoryEntry) {
	if !in.IsStep() {
		r.nonStep(i, in, h)
		return
	}
	if in.Confidence == history.Guess && in.Note != "" {
		r.line("# guessed: " + oneLine(in.Note))
	}
	if rec, ok := r.recovered(i); ok {
		r.recoveredNotes(rec)
	}
	final := r.last[in.Keyword] == i
	switch in.Keyword {
	case "RUN":
		r.run(i, in)
	case "COPY", "ADD":
		r.copyAdd(i, in)
	case "ARG":
		r.arg(i, in)
	case "ENV", "LABEL":
		r.pairs(i, in)
	case "CMD", "ENTRYPOINT":
		r.command(i, in, final)
	case "SHELL":
		r.shellEntry(in, final)
	case "EXPOSE", "VOLUME":
		r.setEntry(i, in)
	case "HEALTHCHECK":
		r.healthcheck(in, final)
	case "USER", "WORKDIR", "STOPSIGNAL":
		r.scalar(in, final)
	case "ONBUILD", "MAINTAINER":
		v := strings.TrimSpace(in.Args)
		if v == "" || !oneLineText(v) || endsWithEscape(v) || !onbuildOK(in.Keyword, v) {
			r.comment(in, "could not read the text")
			return
		}
		r.line(in.Keyword + " " + v)
	default:
		r.comment(in, "not reproducible as an instruction here")
	}
}

// command renders CMD and ENTRYPOINT: the config's argv for the entry that
// set the final value, the history's for earlier ones.
func (r *renderer) command(i int, in history.Instruction, final bool) {
	cfg := r.img.Config.Config
	argv, ok := in.Argv, in.ExecForm
	useConfig := final && (in.Keyword == "ENTRYPOINT" || r.last["ENTRYPOINT"] < i || !r.has("ENTRYPOINT"))
	if useConfig {
		argv, ok = cfg.Cmd, true
		if in.Keyword == "ENTRYPOINT" {
			argv = cfg.Entrypoint
		}
	}
	switch {
	case ok:
		r.line(commandLine(in.Keyword, argv, r.shell))
	case !in.Unparsed && strings.TrimSpace(in.Args) != "" && oneLineText(in.Args) && !endsWithEscape(in.Args):
		r.line(in.Keyword + " " + strings.TrimSpace(in.Args))
	default:
		r.comment(in, "could not read the command")
	}
}

func (r *renderer) shellEntry(in history.Instruction, final bool) {
	argv := in.Argv
	if cfg := r.img.Config.Config; final && len(cfg.Shell) > 0 {
		argv = cfg.Shell
	}
	if len(argv) == 0 {
		r.comment(in, "could not read the shell")
		return
	}
	r.shell = argv
	r.line("SHELL " + jsonArray(argv))
}

// setEntry renders EXPOSE and VOLUME with the share of the config's set
// that setValues gives this entry.
func (r *renderer) setEntry(i int, in history.Instruction) {
	if r.sets[in.Keyword] == nil {
		r.sets[in.Keyword] = r.setValues(in.Keyword)
	}
	vals := r.sets[in.Keyword][i]
	if len(vals) == 0 {
		r.comment(in, "values not in the final config (or unreadable)")
		return
	}
	if in.Keyword == "VOLUME" {
		r.line("VOLUME " + jsonArray(vals))
		return
	}
	shown, bad := ports(vals)
	for _, b := range bad {
		r.line("# EXPOSE: the config names a port that is no port number: " + oneLine(b))
	}
	if len(shown) == 0 {
		return
	}
	if in.Unparsed {
		r.line("# EXPOSE history text unreadable (" + oneLine(in.Args) + "); ports from the config")
	}
	r.line("EXPOSE " + strings.Join(shown, " "))
}

// portRe is what EXPOSE can say: a port or range, and a protocol.
var portRe = regexp.MustCompile(`^[0-9]{1,5}(-[0-9]{1,5})?(/[a-z]{1,10})?$`)

// ports splits config port keys into what EXPOSE can write (as shown) and
// what it cannot (a key is image text: "8080/tcp\nUSER root" is no port).
func ports(keys []string) (shown, bad []string) {
	for _, k := range keys {
		if portRe.MatchString(k) {
			shown = append(shown, showPort(k))
		} else {
			bad = append(bad, k)
		}
	}
	return shown, bad
}

func (r *renderer) healthcheck(in history.Instruction, final bool) {
	cfg := r.img.Config.Config
	// buildah keeps the line as written; it is printed so only when it
	// is one plain line (image text: it could hold a line break).
	asWritten := in.Builder == history.Buildah && in.Argv != nil && oneLineText(in.Args) && !endsWithEscape(in.Args)
	if final && cfg.Healthcheck == nil && in.Builder == history.Buildah && in.Argv != nil && in.Argv[0] != "NONE" {
		// An OCI-format config has no Healthcheck field to take it from.
		r.line("# from buildah's history text: the image config has no health check (OCI format drops it)")
		if asWritten {
			r.line("HEALTHCHECK " + in.Args)
			return
		}
		r.line("# its options are not recovered: the text holds a line break or control character")
	}
	hc := &image.Healthcheck{Test: in.Argv}
	if in.Argv != nil && in.Argv[0] != "NONE" && !final && in.Builder != history.Buildah {
		r.line("# interval/timeout/retries of this earlier HEALTHCHECK are not recovered")
	}
	if final && cfg.Healthcheck != nil {
		hc = cfg.Healthcheck
	}
	if !final && asWritten {
		r.line("HEALTHCHECK " + in.Args)
	} else if l, ok := healthcheckLine(hc, r.shell); ok {
		r.line(l)
	} else {
		r.comment(in, "could not read the health check")
	}
}

// scalar renders USER, WORKDIR and STOPSIGNAL: the config's value for the
// entry that set the final one.
func (r *renderer) scalar(in history.Instruction, final bool) {
	cfg := r.img.Config.Config
	v := strings.TrimSpace(in.Args)
	if final {
		switch in.Keyword {
		case "USER":
			v = orDefault(cfg.User, v)
		case "WORKDIR":
			v = orDefault(cfg.WorkingDir, v)
		case "STOPSIGNAL":
			v = orDefault(cfg.StopSignal, v)
		}
	}
	switch {
	case v == "":
		r.comment(in, "no value")
		return
	case !oneLineText(v):
		r.comment(in, "the value "+oneLine(v)+" holds a line break or control character")
		return
	}
	r.line(in.Keyword + " " + escapeDollar(v))
}

func (r *renderer) has(kw string) bool { _, ok := r.last[kw]; return ok }

func orDefault(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

// onbuildOK accepts ONBUILD text whose first word is an instruction that
// may follow ONBUILD.
func onbuildOK(kw, v string) bool {
	if kw != "ONBUILD" {
		return true
	}
	w := strings.ToUpper(strings.Fields(v)[0])
	switch w {
	case "ONBUILD", "FROM", "MAINTAINER":
		return false
	}
	_, ok := instructionNames[w]
	return ok
}

var instructionNames = map[string]bool{"RUN": true, "CMD": true, "ENTRYPOINT": true, "ENV": true, "LABEL": true, "ARG": true,
	"EXPOSE": true, "VOLUME": true, "USER": true, "WORKDIR": true, "COPY": true, "ADD": true, "SHELL": true,
	"HEALTHCHECK": true, "STOPSIGNAL": true}

// comment renders an entry that cannot be an instruction as # lines.
func (r *renderer) comment(in history.Instruction, why string) {
	r.line(fmt.Sprintf("# %s (%s): %s", oneLine(in.Keyword), why, oneLine(in.Raw)))
}

func (r *renderer) nonStep(i int, in history.Instruction, h image.HistoryEntry) {
	what := string(in.Builder)
	text := strings.TrimSpace(in.Raw)
	if text == "" {
		text = "(no created_by)"
	}
	line := fmt.Sprintf("# [%s] %s", what, oneLine(text))
	if in.Note != "" && in.Note != text {
		line += " — " + oneLine(in.Note)
	}
	r.line(line)
	if h.Layer < 0 {
		return
	}
	if h.Layer == 0 && r.from.Kind == "scratch" && (in.Builder == history.BaseRootFS || in.Builder == history.Apko) {
		r.line("# stand-in for the root file system layer, which no Dockerfile step made:")
		r.line("ADD rootfs.tar /")
		return
	}
	r.line(fmt.Sprintf("# layer %d is not made by a Dockerfile instruction: nothing here recreates it", h.Layer))
}

func (r *renderer) run(i int, in history.Instruction) {
	r.declareArgs(in.BuildArgs)
	prefix := "RUN " + r.flags(in)
	switch {
	case in.Unparsed:
		r.line("# RUN <<EOF … : the heredoc body ran as a file and the history did not record it: " + oneLine(in.Raw))
	case in.ExecForm:
		r.line(prefix + jsonArray(in.Argv))
	case len(in.Shell) > 0 && !equal(in.Shell, r.shell) && in.Builder != history.Buildah && !(in.Builder == history.Classic && r.buildahTop()):
		// The entry ran under a shell the Dockerfile above does not set:
		// spell it out so the same program runs. buildah writes /bin/sh
		// -c whatever SHELL says (and its one-commit entries look like
		// the classic builder's), so its text says nothing of the shell.
		r.line(prefix + jsonArray(append(append([]string{}, in.Shell...), in.Args)))
	default:
		r.line(runLines(prefix, in.Args, r.shell))
	}
}

// flags renders an instruction's flags, each followed by a space. A flag
// is image text (buildah and kaniko split flags on spaces only, so a tab
// or line break survives into one): one that is not a single plain token
// is left out, and a comment says so.
func (r *renderer) flags(in history.Instruction) string {
	var b strings.Builder
	for _, f := range in.Flags {
		if !strings.HasPrefix(f, "--") || !oneLineText(f) || strings.ContainsAny(f, " \t") {
			r.line("# " + in.Keyword + " flag left out (not one plain word): " + oneLine(f))
			continue
		}
		b.WriteString(f + " ")
	}
	return b.String()
}

func (r *renderer) declareArgs(args []history.KV) {
	for _, a := range args {
		if r.argDeclared[a.Key] {
			continue
		}
		r.argDeclared[a.Key] = true
		r.implied++
		if platformArgs[a.Key] {
			r.line("ARG " + a.Key)
			continue
		}
		v, lossy := quoteWord(a.Value)
		if lossy {
			r.line(lossyNote("value", a.Key))
		}
		r.line("ARG " + a.Key + "=" + v)
	}
}

// platformArgs are the ARGs BuildKit (and buildah) fill in for the platform
// being built. The history records this build's values; written back they
// would pin every later build to this platform, so they are declared bare.
var platformArgs = map[string]bool{
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true,
}

// arg renders an ARG entry with the value the build really used: the value
// a later RUN's `|N` prefix recorded, else the recorded default. Automatic
// platform ARGs stay bare.
func (r *renderer) arg(i int, in history.Instruction) {
	var parts []string
	for _, p := range in.Pairs {
		if platformArgs[p.Key] {
			r.argDeclared[p.Key] = true
			parts = append(parts, p.Key)
			continue
		}
		val, has := p.Value, !p.NoValue
		if used, ok := r.usedArg(i, p.Key); ok && (!has || used != val) {
			if has {
				r.line(fmt.Sprintf("# ARG %s was declared with default %q; the build used the value below", p.Key, val))
			}
			val, has = used, true
		}
		r.argDeclared[p.Key] = true
		if !has {
			parts = append(parts, p.Key)
			continue
		}
		v, lossy := quoteWord(val)
		if lossy {
			r.line(lossyNote("value", p.Key))
		}
		parts = append(parts, p.Key+"="+v)
	}
	if len(parts) == 0 {
		why := "no name"
		if in.Note != "" {
			why = in.Note
		}
		r.comment(in, why)
		return
	}
	r.line("ARG " + strings.Join(parts, " "))
}

// usedArg is the value a later RUN recorded for the ARG key declared at
// entry from, if one did before the key was declared again.
func (r *renderer) usedArg(from int, key string) (string, bool) {
	if r.argUse == nil {
		r.argUse = argUses(r.ins)
	}
	u, ok := r.argUse[argAt{from, key}]
	return u, ok
}

type argAt struct {
	entry int
	key   string
}

// argUses answers usedArg for every ARG entry and key in one backward
// pass (a forward scan per ARG is quadratic in the history's length): the
// next event for each key is either a RUN's recorded value or a
// redeclaration, which ends the search.
func argUses(ins []history.Instruction) map[argAt]string {
	type next struct {
		value string
		used  bool
	}
	ahead := map[string]next{}
	out := map[argAt]string{}
	for i := len(ins) - 1; i >= 0; i-- {
		in := &ins[i]
		if in.Keyword == "ARG" {
			for _, p := range in.Pairs {
				if n := ahead[p.Key]; n.used {
					out[argAt{i, p.Key}] = n.value
				}
			}
		}
		for j := len(in.BuildArgs) - 1; j >= 0; j-- {
			a := in.BuildArgs[j]
			ahead[a.Key] = next{a.Value, true}
		}
		if in.Keyword == "ARG" {
			for _, p := range in.Pairs {
				ahead[p.Key] = next{}
			}
		}
	}
	return out
}

// pairs renders ENV and LABEL: the config's value for the last entry
// setting a key, the history's for earlier ones.
func (r *renderer) pairs(i int, in history.Instruction) {
	cfg := r.img.Config.Config
	if r.env == nil {
		r.env = map[string]string{}
		for _, e := range cfg.Env {
			k, v, _ := strings.Cut(e, "=")
			r.env[k] = v
		}
	}
	env := r.env
	var parts []string
	for _, p := range in.Pairs {
		v := p.Value
		if in.Keyword == "ENV" && r.lastEnv[p.Key] == i {
			if cv, ok := env[p.Key]; ok {
				v = cv
			}
		}
		if in.Keyword == "LABEL" && r.lastLabel[p.Key] == i {
			if cv, ok := cfg.Labels[p.Key]; ok {
				v = cv
			}
		}
		if p.Key == "" {
			continue
		}
		k, lossyKey := quoteWord(p.Key)
		if lossyKey {
			r.line(lossyNote("key", p.Key))
		}
		q, lossy := quoteWord(v)
		if lossy {
			r.line(lossyNote("value", p.Key))
		}
		parts = append(parts, k+"="+q)
	}
	if len(parts) == 0 {
		r.comment(in, "could not read the pairs")
		return
	}
	r.line(in.Keyword + " " + strings.Join(parts, " "))
}

// setValues shares the config's EXPOSE/VOLUME set out among the entries
// of that keyword: each readable entry gets its own values, and what no
// readable entry accounts for goes to the last unreadable one (or the last
// entry). Built lazily once per keyword.
func (r *renderer) setValues(kw string) map[int][]string {
	cfg := r.img.Config.Config
	set := cfg.ExposedPorts
	norm := normPort
	if kw == "VOLUME" {
		set, norm = cfg.Volumes, func(s string) string { return s }
	}
	out := map[int][]string{}
	covered := map[string]bool{}
	lastIdx, lastUnparsed := -1, -1
	for i, in := range r.ins {
		if in.Keyword != kw {
			continue
		}
		lastIdx = i
		if in.Unparsed {
			lastUnparsed = i
			continue
		}
		for _, v := range in.Argv {
			n := norm(v)
			if _, ok := set[n]; ok || set == nil && kw == "VOLUME" {
				out[i] = append(out[i], n)
				covered[n] = true
			}
		}
	}
	var left []string
	for _, k := range sortedKeys(set) {
		if !covered[k] {
			left = append(left, k)
		}
	}
	target := lastUnparsed
	if target < 0 {
		target = lastIdx
	}
	if target >= 0 && len(left) > 0 {
		out[target] = append(out[target], left...)
		sort.Strings(out[target])
	}
	return out
}

// configOnly renders config values no history entry accounts for (kaniko
// writes no entries for metadata steps; BuildKit none for ONBUILD).
func (r *renderer) configOnly() {
	cfg := r.img.Config.Config
	var lines []string
	var envParts []string
	for _, e := range cfg.Env {
		k, v, _ := strings.Cut(e, "=")
		if bv, ok := r.beforeEnv[k]; ok && bv == v {
			continue
		}
		if _, ok := r.lastEnv[k]; ok || k == "" || (k == "PATH" && v == defaultPath) {
			continue
		}
		envParts = append(envParts, r.configPair(&lines, k, v))
	}
	if len(envParts) > 0 {
		lines = append(lines, "ENV "+strings.Join(envParts, " "))
	}
	var labelParts []string
	for _, k := range sortedMapKeys(cfg.Labels) {
		if _, ok := r.lastLabel[k]; ok || k == "" || strings.HasPrefix(k, "io.buildah.") {
			continue
		}
		labelParts = append(labelParts, r.configPair(&lines, k, cfg.Labels[k]))
	}
	if len(labelParts) > 0 {
		lines = append(lines, "LABEL "+strings.Join(labelParts, " "))
	}
	if !r.has("EXPOSE") && len(cfg.ExposedPorts) > 0 {
		ps, bad := ports(sortedKeys(cfg.ExposedPorts))
		for _, b := range bad {
			lines = append(lines, "# EXPOSE: the config names a port that is no port number: "+oneLine(b))
		}
		if len(ps) > 0 {
			lines = append(lines, "EXPOSE "+strings.Join(ps, " "))
		}
	}
	if !r.has("VOLUME") && len(cfg.Volumes) > 0 {
		lines = append(lines, "VOLUME "+jsonArray(sortedKeys(cfg.Volumes)))
	}
	single := []struct{ kw, v string }{{"USER", cfg.User}, {"WORKDIR", cfg.WorkingDir}, {"STOPSIGNAL", cfg.StopSignal}}
	for _, s := range single {
		if b, ok := r.before[s.kw]; ok && strings.TrimSpace(b.Args) == s.v {
			continue
		}
		switch {
		case r.has(s.kw) || s.v == "" || s.v == "/":
		case !oneLineText(s.v):
			lines = append(lines, "# "+s.kw+" (the value holds a line break or control character): "+oneLine(s.v))
		default:
			lines = append(lines, s.kw+" "+escapeDollar(s.v))
		}
	}
	if !r.has("SHELL") && len(cfg.Shell) > 0 && !equal(cfg.Shell, r.shell) {
		lines = append(lines, "SHELL "+jsonArray(cfg.Shell))
		r.shell = cfg.Shell
	}
	if !r.has("HEALTHCHECK") {
		if l, ok := healthcheckLine(cfg.Healthcheck, r.shell); ok {
			lines = append(lines, l)
		}
	}
	seenOnbuild := map[string]bool{}
	for _, in := range r.ins {
		if in.Keyword == "ONBUILD" {
			seenOnbuild[strings.TrimSpace(in.Args)] = true
		}
	}
	for _, o := range cfg.OnBuild {
		o = strings.TrimSpace(o)
		if seenOnbuild[o] || o == "" {
			continue
		}
		if !oneLineText(o) || endsWithEscape(o) || !onbuildOK("ONBUILD", o) {
			lines = append(lines, "# ONBUILD (unreadable): "+oneLine(o))
			continue
		}
		lines = append(lines, "ONBUILD "+o)
	}
	// An empty list here is "unset" (podman's API reports every unset
	// entrypoint as [], as it reports Volumes {}): with no history entry for
	// the keyword anywhere, there is no inherited value for an
	// `ENTRYPOINT []` to clear.
	if !r.has("ENTRYPOINT") && len(cfg.Entrypoint) > 0 && !r.sameBefore("ENTRYPOINT", cfg.Entrypoint) {
		lines = append(lines, commandLine("ENTRYPOINT", cfg.Entrypoint, r.shell))
	}
	if !r.has("CMD") && len(cfg.Cmd) > 0 && !r.sameBefore("CMD", cfg.Cmd) {
		lines = append(lines, commandLine("CMD", cfg.Cmd, r.shell))
	}
	if len(lines) == 0 {
		return
	}
	r.line(configOnlyHeader)
	for _, l := range lines {
		before := r.b.Len()
		r.line(l)
		kw, _, _ := strings.Cut(l, " ")
		if strings.HasPrefix(l, "#") {
			kw = ""
		}
		r.guard(before, kw, 0, l)
	}
}

// configPair quotes one config-only ENV/LABEL pair; a note for what
// quoting lost goes to lines, ahead of the instruction.
func (r *renderer) configPair(lines *[]string, k, v string) string {
	kq, lossyKey := quoteWord(k)
	if lossyKey {
		*lines = append(*lines, lossyNote("key", k))
	}
	q, lossy := quoteWord(v)
	if lossy {
		*lines = append(*lines, lossyNote("value", k))
	}
	return kq + "=" + q
}

// sameBefore reports whether a base entry below kaniko's steps already
// set this command.
func (r *renderer) sameBefore(kw string, argv []string) bool {
	b, ok := r.before[kw]
	return ok && b.ExecForm && equal(b.Argv, argv)
}

// configOnlyHeader heads the instructions only the config records.
const configOnlyHeader = "# from the image config; no history entry records these:"

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func sortedMapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
