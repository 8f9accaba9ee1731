package buildcontext

import (
	"regexp"
	"strings"

	"github.com/strata-tool/strata/history"
)

// nonReproducible are signs that a RUN step's result depends on more than
// its inputs: the network, the clock, randomness. A rebuild runs the
// step again and may write other files. Words are matched as commands
// (at the start of the script or after a separator), not anywhere.
var nonReproducible = []struct {
	// words gate the expression: it runs only on a script holding one
	// (a RUN can be megabytes long).
	words []string
	re    *regexp.Regexp
	what  string
}{
	{[]string{"curl", "wget", "fetch", "aria2c"}, cmd(`(curl|wget|fetch|aria2c)\b`), "fetches over the network"},
	{[]string{"git"}, cmd(`git\s+(clone|fetch|pull|submodule)\b`), "fetches over the network"},
	{[]string{"apt"}, cmd(`(apt-get|apt|aptitude)\s+(-\S+\s+)*(update|install|upgrade|dist-upgrade|source)\b`), "installs packages over the network"},
	{[]string{"apk"}, cmd(`apk\s+(-\S+\s+)*(add|update|upgrade|fetch)\b`), "installs packages over the network"},
	{[]string{"yum", "dnf", "zypper", "pacman", "emerge"}, cmd(`(yum|dnf|microdnf|zypper|tdnf|pacman|emerge)\b`), "installs packages over the network"},
	{[]string{"pip", "poetry", "uv", "conda", "mamba"}, cmd(`(pip|pip3|pipx|poetry|uv|conda|mamba)\s+(-\S+\s+)*(install|download|sync|add)\b`), "installs packages over the network"},
	{[]string{"npm", "yarn", "bun"}, cmd(`(npm|pnpm|yarn|bun)\s+(-\S+\s+)*(install|ci|i|add)\b`), "installs packages over the network"},
	{[]string{"gem", "bundle", "composer", "cpanm", "cargo"}, cmd(`(gem|bundle|composer|cpanm|cargo)\s+(-\S+\s+)*(install|fetch|update)\b`), "installs packages over the network"},
	{[]string{"go"}, cmd(`go\s+(get|install|mod\s+download)\b`), "fetches modules over the network"},
	{[]string{"mvn", "gradle", "sbt", "dotnet"}, cmd(`(mvn|gradle|gradlew|\./gradlew|\./mvnw|sbt|dotnet\s+restore)\b`), "fetches dependencies over the network"},
	{[]string{"date"}, regexp.MustCompile(`(^|[^A-Za-z0-9_])date\b|\$\(date|` + "`date"), "writes the current time"},
	{[]string{"RANDOM", "random", "uuidgen", "openssl", "mktemp"}, regexp.MustCompile(`\$RANDOM|/dev/u?random|\buuidgen\b|openssl\s+rand\b|\bmktemp\b`), "uses randomness"},
}

func cmd(expr string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[;&|({]|\bthen\b|\bdo\b|\belse\b|\bsudo\b|\bexec\b)\s*` + expr)
}

// runNotes says why a RUN step's rebuild may differ, if it may.
func runNotes(in history.Instruction) []string {
	script := in.Args
	if in.ExecForm {
		script = strings.Join(in.Argv, " ")
	}
	if flagValue(in.Flags, "--network") == "none" {
		script = dropNetwork(script)
	}
	var why []string
	seen := map[string]bool{}
	for _, n := range nonReproducible {
		if !seen[n.what] && anyWord(script, n.words) && n.re.MatchString(script) {
			seen[n.what] = true
			why = append(why, n.what)
		}
	}
	if len(why) == 0 {
		return nil
	}
	return []string{"not reproducible: a rebuild runs this step again, and it " + strings.Join(why, ", ") + " — the files it writes may differ"}
}

func anyWord(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// dropNetwork: a step built with --network=none fetched nothing.
func dropNetwork(script string) string {
	for _, n := range nonReproducible {
		if strings.Contains(n.what, "network") && anyWord(script, n.words) {
			script = n.re.ReplaceAllString(script, "")
		}
	}
	return script
}
