package dockerfile

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"mvdan.cc/sh/v3/syntax"
)

// TestRunLines checks each RUN rendering rule by parsing the result with
// BuildKit and comparing the program it would hand the shell.
func TestRunLines(t *testing.T) {
	sh := []string{"/bin/sh", "-c"}
	long := "apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*; echo done"
	tests := []struct {
		name, script string
		wantText     string // substring the rendering must contain
		wantExec     bool   // rendered as exec form with the shell spelled out
	}{
		{name: "short stays one line", script: "echo hi", wantText: "RUN echo hi\n"},
		{name: "long && chain split", script: long, wantText: "apt-get update \\\n\t&& apt-get install"},
		{name: "continuations restored", script: "set -eux; \tapt-get update; \t\tapt-get install -y x; \trm -rf /var/lib/apt/lists/* && echo 'done with the long line'",
			wantText: "set -eux; \\\n\tapt-get update; \\\n\t\tapt-get install"},
		{name: "comment line never starts a continuation", script: "echo " + strings.Repeat("a", 100) + "; \t# a comment", wantText: "; \t# a comment"},
		{name: "multi-line becomes heredoc", script: "mkdir -p /x\necho hi > /x/y\n", wantText: "RUN <<EOF\nmkdir -p /x\n"},
		{name: "heredoc delimiter clash", script: "cat <<EOF\nbody\nEOF\n", wantText: "RUN <<EOF1\ncat <<EOF\n"},
		{name: "one-line << would be a Dockerfile heredoc", script: "cat <<< hi", wantExec: true},
		{name: "trailing backslash", script: `echo \`, wantExec: true},
		{name: "leading [ would be exec form", script: "[ -f /x ] && echo y", wantExec: true},
		{name: "empty script", script: "", wantExec: true},
		{name: "shell comment: no split", script: strings.Repeat("echo a && ", 12) + "echo b # trailing comment; not a command", wantText: "RUN echo a && echo a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := runLines("RUN ", tc.script, sh) + "\n"
			if tc.wantText != "" && !strings.Contains(text, tc.wantText) {
				t.Errorf("rendering lacks %q:\n%s", tc.wantText, text)
			}
			stages, _, err := Parse("FROM scratch\n" + text)
			if err != nil {
				t.Fatalf("does not parse: %v\n%s", err, text)
			}
			if len(stages[0].Commands) != 1 {
				t.Fatalf("%d commands from:\n%s", len(stages[0].Commands), text)
			}
			run := stages[0].Commands[0].(*instructions.RunCommand)
			var got string
			switch {
			case len(run.Files) == 1:
				got = run.Files[0].Data
			case !run.PrependShell:
				if !tc.wantExec || len(run.CmdLine) != 3 || run.CmdLine[0] != "/bin/sh" {
					t.Fatalf("unexpected exec form %q", run.CmdLine)
				}
				got = run.CmdLine[2]
			default:
				if tc.wantExec {
					t.Fatalf("want exec form, got %q", run.CmdLine)
				}
				got = strings.Join(run.CmdLine, " ")
			}
			if strings.TrimSuffix(got, "\n") != strings.TrimSuffix(tc.script, "\n") && normShell(t, got) != normShell(t, tc.script) {
				t.Errorf("program changed:\n got %q\nwant %q", got, tc.script)
			}
		})
	}
}

// normShell prints a script's syntax tree with mvdan.cc/sh, so that two
// scripts differing only in whitespace between commands compare equal.
func normShell(t *testing.T, s string) string {
	f, err := syntax.NewParser().Parse(strings.NewReader(s), "")
	if err != nil {
		return s
	}
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
