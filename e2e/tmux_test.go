package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// term is a terminal a test types into and reads from: a tmux server of
// its own (its own socket, so the tests never touch a user's tmux) with
// one 80×24 window running a plain shell.
type term struct {
	t      *testing.T
	socket string
	dir    string
}

var tmuxN atomic.Int64

func newTerm(t *testing.T, env ...string) *term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("STRATA_REQUIRE_SERVICES") == "1" {
			t.Fatal("tmux is not installed (scripts/install-deps.sh installs it)")
		}
		t.Skip("tmux is not installed")
	}
	dir, err := os.MkdirTemp("", "strata-e2e-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, socket: fmt.Sprintf("strata-e2e-%d-%d", os.Getpid(), tmuxN.Add(1)), dir: dir}
	// A shell with no rc files and a prompt the test recognises.
	args := []string{"new-session", "-d", "-x", "80", "-y", "24", "-s", "t"}
	for _, e := range append([]string{"PS1=e2e-ready> ", "TERM=xterm-256color", "HOME=" + tm.dir}, env...) {
		args = append(args, "-e", e)
	}
	args = append(args, "bash", "--norc", "--noprofile")
	tm.tmux(args...)
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run()
		_ = os.Remove(filepath.Join(os.TempDir(), fmt.Sprintf("tmux-%d", os.Getuid()), tm.socket))
		// What still runs in the pane ends on the hang-up; give it a
		// moment before its HOME goes.
		time.Sleep(200 * time.Millisecond)
		_ = os.RemoveAll(dir)
	})
	tm.waitFor("e2e-ready>", 10*time.Second)
	return tm
}

func (tm *term) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// run types a shell command line and Enter.
func (tm *term) run(line string) { tm.tmux("send-keys", "-t", "t", "-l", line); tm.keys("Enter") }

// keys sends tmux key names (Tab, C-f, Space, PageDown, q).
func (tm *term) keys(k ...string) { tm.tmux(append([]string{"send-keys", "-t", "t"}, k...)...) }

// text types literal text.
func (tm *term) text(s string) { tm.tmux("send-keys", "-t", "t", "-l", s) }

// screen is what the pane shows now (plain text).
func (tm *term) screen() string { return tm.tmux("capture-pane", "-p", "-t", "t") }

// screenEscapes is the pane with its colours and attributes as escape
// sequences (capture-pane -e).
func (tm *term) screenEscapes() string { return tm.tmux("capture-pane", "-p", "-e", "-t", "t") }

// alternate reports whether the pane is on the alternate screen.
func (tm *term) alternate() bool {
	return strings.TrimSpace(tm.tmux("display-message", "-p", "-t", "t", "#{alternate_on}")) == "1"
}

func (tm *term) title() string {
	return strings.TrimSpace(tm.tmux("display-message", "-p", "-t", "t", "#{pane_title}"))
}

// waitFor polls the screen until it holds all of want.
func (tm *term) waitFor(want string, timeout time.Duration, more ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.screen()
		ok := strings.Contains(s, want)
		for _, w := range more {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %q %q; it shows:\n%s", want, more, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGone polls until the screen no longer holds s.
func (tm *term) waitGone(s string, timeout time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sc := tm.screen()
		if !strings.Contains(sc, s) {
			return sc
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen still shows %q:\n%s", s, sc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// session runs `strata explore ARGS` in the shell between two `stty -a`
// snapshots and returns a function that waits for it to end and checks
// the exit code, that the alternate screen was left and that the terminal
// modes are as before.
func (tm *term) session(bin string, wantExit int, args ...string) (end func() string) {
	tm.t.Helper()
	before, after := filepath.Join(tm.dir, "stty.before"), filepath.Join(tm.dir, "stty.after")
	tm.run(fmt.Sprintf("clear; stty -a > %s; %s explore %s; echo \"EXIT=$?\"; stty -a > %s",
		before, bin, strings.Join(args, " "), after))
	return func() string {
		tm.t.Helper()
		s := tm.waitFor(fmt.Sprintf("EXIT=%d", wantExit), 20*time.Second)
		if tm.alternate() {
			tm.t.Errorf("the alternate screen is still on after exit:\n%s", s)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			b, _ := os.ReadFile(before)
			a, err := os.ReadFile(after)
			if err == nil && len(a) > 0 {
				if string(a) != string(b) {
					tm.t.Errorf("terminal modes changed:\nbefore: %s\nafter:  %s", b, a)
				}
				break
			}
			if time.Now().After(deadline) {
				tm.t.Fatal("stty -a after the run never ran")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return s
	}
}
