package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/strata-tool/strata/internal/hostile"
	"github.com/strata-tool/strata/internal/testenv"
)

// Bounds a user would accept for a metadata read or a small layer diff.
// The time limit is a hang detector, not a speed target (the machine is
// shared); memory is resident memory, polled from outside the process (Go
// reserves far more address space than it uses, so no address-space
// limit), with a kill at killRSS and the kernel's peak checked afterwards.
// Memory grows linearly with the metadata: baseRSS covers every input of
// a few MB, and a run on a bigger one may take perInput bytes per byte of
// the image's largest blob (perInputJSON for dockerfile -o json, which
// repeats each instruction in several fields).
const (
	timeLimit    = 60 * time.Second
	baseRSS      = 100 << 20
	perInput     = 20
	perInputJSON = 40
	killRSS      = 1 << 30
	maxStderr    = 3
	pollPeriod   = 5 * time.Millisecond
)

// TestHostileCorpus runs every verb over every hostile input of the
// metadata and layer corpora (package internal/hostile: control
// characters everywhere, smuggling vectors, a 16,000-entry history, huge
// and deeply nested RUN scripts, sparse and degenerate layers) as a
// subprocess, and checks that each run ends in time and within its memory
// bound, prints at most three lines on stderr and no stack dump, writes
// nothing outside the named output, prints no terminal control character,
// and that the printed Dockerfile holds exactly the instructions of the
// history. The outcome table is logged (go test -v).
func TestHostileCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds strata and runs it ~200 times")
	}
	work := t.TempDir()
	bin := buildStrata(t, work)
	inputs := filepath.Join(work, "inputs")
	if err := os.MkdirAll(inputs, 0o755); err != nil {
		t.Fatal(err)
	}
	base, err := hostile.Base().Write(inputs)
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		c   hostile.Case
		ref string
	}
	var all []input
	for _, c := range append(hostile.Metadata(), hostile.Layers()...) {
		ref, err := c.Write(inputs)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, input{c, ref})
	}
	before := snapshot(t, inputs)
	sandbox := newSandbox(t, work)
	var table []string
	for _, in := range all {
		db := filepath.Join(sandbox.out, in.c.Name+".db")
		for _, args := range [][]string{
			{"layers", in.ref}, {"layers", "-o", "json", in.ref}, {"inspect", in.ref},
			{"dockerfile", in.ref}, {"dockerfile", "-o", "json", in.ref},
			{"base", "--catalog", db, in.ref},
			{"diff", in.ref, base}, {"diff", "--color", "always", in.ref, base}, {"diff", "--files", base, in.ref},
			{"catalog", "add", "--catalog", db, in.ref}, {"catalog", "ls", "--catalog", db},
			{"base", "--catalog", db, in.ref},
			// The verbs that read layers; --no-cache keeps them from
			// writing the index cache into the sandbox.
			{"files", "--no-cache", in.ref}, {"files", "--no-cache", "-o", "json", in.ref},
			{"waste", "--no-cache", in.ref}, {"packages", "--no-cache", in.ref},
			{"dockerfile", "--deep", "--no-cache", in.ref}, {"secrets", "--no-cache", in.ref},
		} {
			limit := memoryBound(in.c, args)
			r := sandbox.run(t, bin, args...)
			table = append(table, r.row(in.c.Name, args))
			r.check(t, args, limit)
			if args[0] == "dockerfile" && len(args) == 2 {
				checkDockerfileText(t, in.c.Name, r.stdout, sandbox.run(t, bin, "dockerfile", "-o", "json", in.ref).stdout)
			}
		}
	}
	if after := snapshot(t, inputs); after != before {
		t.Errorf("the inputs changed")
	}
	sandbox.checkUntouched(t)
	t.Logf("hostile corpus outcomes:\n%s", strings.Join(table, "\n"))
}

// memoryBound is the resident memory a run of args on c may take.
func memoryBound(c hostile.Case, args []string) int64 {
	n := len(c.Image.Config)
	for _, l := range c.Image.Layers {
		n = max(n, len(l))
	}
	per := perInput
	if args[0] == "dockerfile" && args[1] == "-o" {
		per = perInputJSON
	}
	return max(baseRSS, int64(per*n))
}

// row is the run's line in the outcome table: the verb and its flags
// (paths left out), exit code, time, peak memory and first stderr line.
func (r result) row(name string, args []string) string {
	var verb []string
	for _, a := range args {
		if !strings.HasPrefix(a, "/") {
			verb = append(verb, a)
		}
	}
	peak := "   -  " // ended before the first poll
	if r.peakRSS > 0 {
		peak = fmt.Sprintf("%3d MB", r.peakRSS>>20)
	}
	return fmt.Sprintf("%-26s %-28s exit %d %6.2fs %s  %s", name, strings.Join(verb, " "), r.code, r.elapsed.Seconds(), peak, firstLine(r.stderr))
}

func buildStrata(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "strata")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/strata")
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sandbox is where each run lives: its own HOME, XDG directories, TMPDIR
// and working directory, all empty; the only place a run may write is out
// (the --catalog files named on its command line).
type sandbox struct {
	root, out string
	env       []string
}

func newSandbox(t *testing.T, work string) *sandbox {
	s := &sandbox{root: filepath.Join(work, "sandbox"), out: filepath.Join(work, "out")}
	for _, d := range []string{"home", "data", "config", "cache", "tmp", "cwd"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		t.Fatal(err)
	}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(s.root, "home"),
		"XDG_DATA_HOME=" + filepath.Join(s.root, "data"), "XDG_CONFIG_HOME=" + filepath.Join(s.root, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(s.root, "cache"), "TMPDIR=" + filepath.Join(s.root, "tmp")}
	return s
}

func (s *sandbox) checkUntouched(t *testing.T) {
	t.Helper()
	_ = filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a run wrote %s, outside its named output", p)
		}
		return nil
	})
}

// result is one run of strata.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
	peakRSS        int64 // bytes, the highest VmHWM seen
	killed         string
}

// run starts strata in the sandbox and watches it: killed past timeLimit
// or when its resident memory (polled from /proc) passes killRSS.
func (s *sandbox) run(t *testing.T, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = filepath.Join(s.root, "cwd"), s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan string, 1)
	var peak atomic.Int64
	done := make(chan struct{})
	go func() { watch(ctx, cmd.Process, killed, &peak); close(done) }()
	err := cmd.Wait()
	cancel()
	<-done
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start), peakRSS: peak.Load()}
	select {
	case r.killed = <-killed:
	default:
	}
	r.code = cmd.ProcessState.ExitCode()
	if err != nil && r.code < 0 {
		r.code = -1
	}
	return r
}

// watch kills p when it runs past timeLimit or its VmRSS passes killRSS,
// and records the process's own high-water mark (VmHWM) as it goes. (The
// kernel's rusage peak is no use here: Go starts children with vfork, and
// exec carries the test process's own peak over into the child's.)
func watch(ctx context.Context, p *os.Process, killed chan<- string, peak *atomic.Int64) {
	deadline := time.Now().Add(timeLimit)
	tick := time.NewTicker(pollPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rss, hwm := memStatus(p.Pid)
		if hwm > peak.Load() {
			peak.Store(hwm)
		}
		if time.Now().After(deadline) {
			killed <- fmt.Sprintf("still running after %s", timeLimit)
			_ = p.Kill()
			return
		}
		if rss > killRSS {
			killed <- fmt.Sprintf("resident memory %d MB", rss>>20)
			_ = p.Kill()
			return
		}
	}
}

// memStatus reads VmRSS and VmHWM, in bytes, from /proc/PID/status.
func memStatus(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

var (
	// terminalControl is what may not reach a terminal: C0 controls but
	// tab, newline and CR LF; DEL; C1 controls; bidi controls.
	terminalControl = regexp.MustCompile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|\r[^\n]|\r$")
	ownColour       = regexp.MustCompile("\x1b\\[(0|1|31|32|33)m")
	stackDump       = regexp.MustCompile(`goroutine \d+ \[|panic: |fatal error: |runtime stack:|\.go:\d+ \+0x`)
)

func (r result) check(t *testing.T, args []string, limit int64) {
	t.Helper()
	what := strings.Join(args, " ")
	if r.killed != "" {
		t.Errorf("%s: killed: %s", what, r.killed)
		return
	}
	okCodes := map[int]bool{0: true}
	switch {
	case args[0] == "diff" || args[0] == "secrets":
		// 1: different / secrets found; 2: an error (a layer refused)
		okCodes = map[int]bool{0: true, 1: true, 2: true}
	case args[0] == "files" || args[0] == "packages" || (args[0] == "dockerfile" && args[1] == "--deep"):
		// A layer strata refuses (a sparse bomb, a whiteout naming no
		// file) is an error in one line, not a crash.
		okCodes = map[int]bool{0: true, 1: true}
	case args[0] == "waste":
		okCodes = map[int]bool{0: true, 2: true} // waste's errors exit 2, as for its CI gate
	}
	if !okCodes[r.code] {
		t.Errorf("%s: exit %d: %s", what, r.code, r.stderr)
	}
	if r.peakRSS > limit {
		t.Errorf("%s: peak resident memory %d MB, bound %d MB", what, r.peakRSS>>20, limit>>20)
	}
	if n := strings.Count(r.stderr, "\n"); n > maxStderr {
		t.Errorf("%s: %d lines on stderr:\n%s", what, n, r.stderr)
	}
	if stackDump.MatchString(r.stderr) {
		t.Errorf("%s: stack dump on stderr:\n%.2000s", what, r.stderr)
	}
	stdout := r.stdout
	if args[0] == "diff" && args[1] == "--color" {
		stdout = ownColour.ReplaceAllString(stdout, "")
	}
	for name, s := range map[string]string{"stdout": stdout, "stderr": r.stderr} {
		if !utf8.ValidString(s) {
			t.Errorf("%s: invalid UTF-8 on %s", what, name)
		}
		if m := terminalControl.FindStringIndex(s); m != nil {
			t.Errorf("%s: terminal control %q on %s: …%q…", what, s[m[0]:m[1]], name, s[max(0, m[0]-40):min(len(s), m[1]+40)])
		}
	}
	if (strings.Contains(what, "-o json") || args[0] == "inspect") && (r.stdout != "" || r.code == 0) {
		if !json.Valid([]byte(r.stdout)) {
			t.Errorf("%s: stdout is not JSON", what)
		}
	}
}

// checkDockerfileText holds the printed Dockerfile to the history: each
// record's text parses to the ARGs its RUN implies and at most one
// instruction, of the record's keyword; the printed text holds FROM, those
// and the config-only block's, one per keyword (ONBUILD aside), and no
// more.
func checkDockerfileText(t *testing.T, name, text, jsonOut string) {
	t.Helper()
	var rep struct {
		Dockerfile string `json:"dockerfile"`
		History    []struct {
			Step        int
			Dockerfile  string
			Instruction struct{ Keyword string } `json:"instruction"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &rep); err != nil {
		t.Errorf("%s: dockerfile -o json: %v", name, err)
		return
	}
	if text != rep.Dockerfile {
		t.Errorf("%s: the text output is not the JSON's dockerfile", name)
	}
	want := 1
	for _, h := range rep.History {
		nodes := instructionsIn(t, h.Dockerfile)
		for len(nodes) > 1 && strings.EqualFold(nodes[0].Value, "ARG") && h.Instruction.Keyword != "ARG" {
			nodes, want = nodes[1:], want+1
		}
		if len(nodes) > 1 || len(nodes) == 1 && !strings.EqualFold(nodes[0].Value, h.Instruction.Keyword) {
			t.Errorf("%s: step %d (%s) prints %d instructions:\n%s", name, h.Step, h.Instruction.Keyword, len(nodes), h.Dockerfile)
		}
		want += len(nodes)
	}
	if i := strings.Index(text, "# from the image config; no history entry records these:\n"); i >= 0 {
		seen := map[string]bool{}
		for _, n := range instructionsIn(t, text[i:]) {
			kw := strings.ToUpper(n.Value)
			if seen[kw] && kw != "ONBUILD" {
				t.Errorf("%s: two %s in the config-only block", name, kw)
			}
			seen[kw] = true
			want++
		}
	}
	if got := len(instructionsIn(t, text)); got != want {
		t.Errorf("%s: the Dockerfile holds %d instructions, the history %d", name, got, want)
	}
}

// instructionsIn parses text (which may hold no instruction) with
// BuildKit's parser.
func instructionsIn(t *testing.T, text string) []*parser.Node {
	t.Helper()
	res, err := parser.Parse(strings.NewReader("FROM scratch\n" + text))
	if err != nil {
		t.Errorf("does not parse: %v", err)
		return nil
	}
	return res.AST.Children[1:]
}

// snapshot lists every file under dir with its size and modification
// time.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// firstLine is the first stderr line, its end kept when it is long (an
// error's cause comes last).
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 120 {
		s = "…" + s[len(s)-120:]
	}
	return s
}
