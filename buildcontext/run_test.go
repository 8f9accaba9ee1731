package buildcontext

import (
	"strings"
	"testing"

	"github.com/strata-tool/strata/history"
)

func TestRunNotes(t *testing.T) {
	for script, want := range map[string]string{
		"apt-get update && apt-get install -y curl":         "installs packages over the network",
		"set -eux; curl -fsSL https://x/y | tar -xz":        "fetches over the network",
		"cd /src && git clone https://x/y.git":              "fetches over the network",
		"echo built at $(date) > /built":                    "writes the current time",
		"head -c 16 /dev/urandom > /key":                    "uses randomness",
		"pip install --no-cache-dir flask":                  "installs packages over the network",
		"mkdir -p /app && echo hello > /app/greeting.txt":   "",
		"echo update the curl docs > /notes.txt":            "", // words, not commands
		"./configure --prefix=/usr && make && make install": "",
	} {
		got := strings.Join(runNotes(history.Instruction{Keyword: "RUN", Args: script}), " ")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("%q: notes %q, want %q", script, got, want)
		}
	}
	in := history.Instruction{Keyword: "RUN", Args: "apt-get update", Flags: []string{"--network=none"}}
	if n := runNotes(in); len(n) != 0 {
		t.Errorf("--network=none still noted: %v", n)
	}
}
