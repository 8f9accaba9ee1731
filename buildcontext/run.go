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
	re   *regexp.Regexp
	what string
}{
	{cmd(`(curl|wget|fetch|aria2c)\b`), "fetches over the network"},
	{cmd(`git\s+(clone|fetch|pull|submodule)\b`), "fetches over the network"},
	{cmd(`(apt-get|apt|aptitude)\s+(-\S+\s+)*(update|install|upgrade|dist-upgrade|source)\b`), "installs packages over the network"},
	{cmd(`apk\s+(-\S+\s+)*(add|update|upgrade|fetch)\b`), "installs packages over the network"},
	{cmd(`(yum|dnf|microdnf|zypper|tdnf|pacman|emerge)\b`), "installs packages over the network"},
	{cmd(`(pip|pip3|pipx|poetry|uv|conda|mamba)\s+(-\S+\s+)*(install|download|sync|add)\b`), "installs packages over the network"},
	{cmd(`(npm|pnpm|yarn|bun)\s+(-\S+\s+)*(install|ci|i|add)\b`), "installs packages over the network"},
	{cmd(`(gem|bundle|composer|cpanm|cargo)\s+(-\S+\s+)*(install|fetch|update)\b`), "installs packages over the network"},
	{cmd(`go\s+(get|install|mod\s+download)\b`), "fetches modules over the network"},
	{cmd(`(mvn|gradle|gradlew|\./gradlew|\./mvnw|sbt|dotnet\s+restore)\b`), "fetches dependencies over the network"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_])date\b|\$\(date|` + "`date"), "writes the current time"},
	{regexp.MustCompile(`\$RANDOM|/dev/u?random|\buuidgen\b|openssl\s+rand\b|\bmktemp\b`), "uses randomness"},
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
		if !seen[n.what] && n.re.MatchString(script) {
			seen[n.what] = true
			why = append(why, n.what)
		}
	}
	if len(why) == 0 {
		return nil
	}
	return []string{"not reproducible: a rebuild runs this step again, and it " + strings.Join(why, ", ") + " — the files it writes may differ"}
}

// dropNetwork: a step built with --network=none fetched nothing.
func dropNetwork(script string) string {
	for _, n := range nonReproducible {
		if strings.Contains(n.what, "network") {
			script = n.re.ReplaceAllString(script, "")
		}
	}
	return script
}
