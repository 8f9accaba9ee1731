package dockerfile_test

import (
	"sort"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/strata-tool/strata/dockerfile"
)

// replayed is the runtime config a Dockerfile stage produces, computed by
// replaying its instructions the way the builder does (BuildKit's own word
// expansion), independently of how strata rendered them.
type replayed struct {
	Env        map[string]string
	Labels     map[string]string
	Cmd        []string
	Entrypoint []string
	HasCmd     bool
	HasEntry   bool
	Ports      []string
	Volumes    []string
	User       string
	Workdir    string
	StopSignal string
	Shell      []string
	Health     []string
	OnBuild    []string
	Runs       []string
	// Copies are COPY/ADD steps as "dest" → flags that change the result.
	Copies []copyStep
}

type copyStep struct {
	Dest, Chown, Chmod, From string
}

// replay parses text and replays its last stage, starting from env.
func replay(text string, env []string) (*replayed, error) {
	return replayArgs(text, env, nil)
}

// replayArgs replays with --build-arg values.
func replayArgs(text string, env []string, buildArgs map[string]string) (*replayed, error) {
	stages, _, err := dockerfile.Parse(text)
	if err != nil {
		return nil, err
	}
	st := stages[len(stages)-1]
	r := &replayed{Env: map[string]string{}, Labels: map[string]string{}, Shell: []string{"/bin/sh", "-c"}}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		r.Env[k] = v
	}
	args := map[string]string{}
	lex := shell.NewLex('\\')
	getter := func() shell.EnvGetter {
		var all []string
		for k, v := range args {
			all = append(all, k+"="+v)
		}
		for k, v := range r.Env {
			all = append(all, k+"="+v)
		}
		return shell.EnvsFromSlice(all)
	}
	expand := func(w string) (string, error) {
		v, _, err := lex.ProcessWord(w, getter())
		return v, err
	}
	ports := map[string]bool{}
	vols := map[string]bool{}
	for _, c := range st.Commands {
		if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if _, isRun := c.(*instructions.RunCommand); !isRun {
				if err := ex.Expand(expand); err != nil {
					return nil, err
				}
			}
		}
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				if v, ok := buildArgs[a.Key]; ok {
					args[a.Key] = v
				} else if a.Value != nil {
					args[a.Key] = *a.Value
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				r.Env[kv.Key] = kv.Value
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				r.Labels[kv.Key] = kv.Value
			}
		case *instructions.CmdCommand:
			r.Cmd, r.HasCmd = argv(c.ShellDependantCmdLine, r.Shell), true
		case *instructions.EntrypointCommand:
			r.Entrypoint, r.HasEntry = argv(c.ShellDependantCmdLine, r.Shell), true
			if !r.HasCmd {
				r.Cmd = nil
			}
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				ports[p] = true
			}
		case *instructions.VolumeCommand:
			for _, v := range c.Volumes {
				vols[v] = true
			}
		case *instructions.UserCommand:
			r.User = c.User
		case *instructions.WorkdirCommand:
			r.Workdir = c.Path
		case *instructions.StopSignalCommand:
			r.StopSignal = c.Signal
		case *instructions.ShellCommand:
			r.Shell = c.Shell
		case *instructions.RunCommand:
			r.Runs = append(r.Runs, runText(c))
		case *instructions.CopyCommand:
			r.Copies = append(r.Copies, copyStep{Dest: c.DestPath, Chown: c.Chown, Chmod: c.Chmod, From: c.From})
		case *instructions.AddCommand:
			r.Copies = append(r.Copies, copyStep{Dest: c.DestPath, Chown: c.Chown, Chmod: c.Chmod})
		case *instructions.HealthCheckCommand:
			r.Health = c.Health.Test
		case *instructions.OnbuildCommand:
			r.OnBuild = append(r.OnBuild, strings.Join(strings.Fields(c.Expression), " "))
		}
	}
	r.Ports, r.Volumes = keys(ports), keys(vols)
	return r, nil
}

func argv(c instructions.ShellDependantCmdLine, sh []string) []string {
	if c.PrependShell {
		return append(append([]string{}, sh...), strings.Join(c.CmdLine, " "))
	}
	return c.CmdLine
}

// runText is the program a RUN hands the shell: the heredoc body for
// `RUN <<EOF`, else the command line.
func runText(c *instructions.RunCommand) string {
	if len(c.Files) == 1 && len(c.CmdLine) == 1 && strings.HasPrefix(c.CmdLine[0], "<<") {
		return c.Files[0].Data
	}
	if !c.PrependShell {
		return "exec:" + strings.Join(c.CmdLine, "\x00")
	}
	return strings.Join(c.CmdLine, " ")
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkRunSemantics asserts that each RUN of the emitted Dockerfile hands
// the shell the program the history recorded: byte for byte, or, where the
// script was re-flowed, the same syntax tree (mvdan.cc/sh prints both the
// same). Exec-form RUNs must keep their argv.
func checkRunSemantics(t *testing.T, res *dockerfile.Result, r *replayed) {
	t.Helper()
	var want []string
	for _, rec := range res.Records {
		in := rec.Parsed
		if rec.InBase || in.Keyword != "RUN" || in.Unparsed {
			continue
		}
		if in.ExecForm {
			want = append(want, "exec:"+strings.Join(in.Argv, "\x00"))
			continue
		}
		want = append(want, in.Args)
	}
	if len(want) != len(r.Runs) {
		t.Errorf("%d RUNs in the history, %d in the Dockerfile", len(want), len(r.Runs))
		return
	}
	for i, w := range want {
		g := r.Runs[i]
		if g == w {
			continue
		}
		// A shell-form RUN whose shell is spelled out in exec form.
		if strings.HasPrefix(g, "exec:") && strings.HasSuffix(g, "\x00"+w) {
			continue
		}
		if w != "" && strings.TrimSuffix(g, "\n") == strings.TrimSuffix(w, "\n") {
			continue // heredoc body gains a final newline
		}
		pw, errw := printShell(w)
		pg, errg := printShell(g)
		if errw != nil || errg != nil || pw != pg {
			t.Errorf("RUN %d changed meaning:\nhistory:    %q\ndockerfile: %q", i, w, g)
		}
	}
}

func printShell(s string) (string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(s), "")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = syntax.NewPrinter().Print(&b, f)
	return b.String(), err
}
