//go:build linux

package unpack

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/layers"
)

type step struct {
	e    layers.Entry
	body string
	// want is the error Add must wrap (nil: success).
	want error
}

func dir(p string) step { return step{e: layers.Entry{Path: p, Type: layers.TypeDir, Mode: 0o755}} }
func file(p, body string, mode uint32) step {
	return step{e: layers.Entry{Path: p, Type: layers.TypeFile, Mode: mode, Size: int64(len(body))}, body: body}
}
func symlink(p, to string) step {
	return step{e: layers.Entry{Path: p, Type: layers.TypeSymlink, Mode: 0o777, Link: to}}
}
func hardlink(p, to string) step {
	return step{e: layers.Entry{Path: p, Type: layers.TypeHardlink, Link: to}}
}
func refused(s step) step { s.want = ErrUnsafe; return s }

// tree lists everything below root as "path type" lines, symlinks with
// their targets.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		kind := map[fs.FileMode]string{0: "f", fs.ModeDir: "d", fs.ModeSymlink: "l", fs.ModeNamedPipe: "p"}[d.Type()]
		s := rel + " " + kind
		if d.Type()&fs.ModeSymlink != 0 {
			to, _ := os.Readlink(p)
			s += " -> " + to
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestWriterContainsEveryEscape(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  []string // what must be in out/ afterwards
	}{
		{"symlink swapped in for a directory", []step{
			dir("d"), symlink("d", "../outside"), refused(file("d/x", "pwned", 0o644)),
		}, []string{"d l -> ../outside"}},
		{"absolute symlink then a path through it", []step{
			symlink("etc", "/"), refused(file("etc/passwd", "pwned", 0o644)), refused(dir("etc/sub")),
		}, []string{"etc l -> /"}},
		{"hardlink through a symlink", []step{
			symlink("lnk", "../outside"), refused(hardlink("hl", "lnk/sentinel")),
		}, []string{"lnk l -> ../outside"}},
		{"hardlink to a symlink links the symlink", []step{
			symlink("lnk", "../outside/sentinel"), hardlink("hl", "lnk"),
		}, []string{"hl l -> ../outside/sentinel", "lnk l -> ../outside/sentinel"}},
		{"unclean paths", []step{
			refused(file("../escape", "x", 0o644)), refused(file("/abs", "x", 0o644)), refused(file("a/../b", "x", 0o644)),
			refused(file("", "x", 0o644)), refused(hardlink("h", "../outside/sentinel")),
		}, nil},
		{"hardlink to nothing written", []step{refused(hardlink("h", "missing"))}, nil},
		{"duplicate entries: the last wins", []step{
			file("dup", "first", 0o644), file("dup", "second", 0o600), dir("x"), file("x", "was a dir", 0o644),
		}, []string{"dup f", "x f"}},
		{"a non-empty directory is not replaced", []step{
			dir("full"), file("full/f", "x", 0o644), {e: layers.Entry{Path: "full", Type: layers.TypeFile}, want: errAny},
		}, []string{"full d", "full/f f"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			outside := filepath.Join(parent, "outside")
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "sentinel"), []byte("untouched"), 0o644)
			out := filepath.Join(parent, "out")
			w, err := Create(out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range c.steps {
				err := w.Add(&s.e, strings.NewReader(s.body))
				switch {
				case s.want == nil && err != nil:
					t.Fatalf("step %d (%s): %v", i, s.e.Path, err)
				case s.want == errAny && err == nil, s.want != nil && s.want != errAny && !errors.Is(err, s.want):
					t.Fatalf("step %d (%s): err %v, want %v", i, s.e.Path, err, s.want)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := tree(t, parent); !onlyOutAndSentinel(got) {
				t.Fatalf("parent holds:\n%s", strings.Join(got, "\n"))
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "sentinel")); string(b) != "untouched" {
				t.Fatal("outside/sentinel was written through")
			}
			if got := tree(t, out); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("out holds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if b, err := os.ReadFile(filepath.Join(out, "dup")); err == nil && string(b) != "second" {
				t.Fatalf("dup holds %q, want the last entry's %q", b, "second")
			}
		})
	}
}

var errAny = errors.New("any error")

// onlyOutAndSentinel: the parent holds out/ (and what is in it), and
// outside/ with its sentinel — nothing else.
func onlyOutAndSentinel(lines []string) bool {
	n := 0
	for _, l := range lines {
		switch {
		case l == "outside d" || l == "outside/sentinel f":
			n++
		case l == "out d" || strings.HasPrefix(l, "out/"):
		default:
			return false
		}
	}
	return n == 2
}

func TestWriterModesDevicesAndLimits(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	w, err := Create(out, Options{MaxBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []step{
		{e: layers.Entry{Path: "ro", Type: layers.TypeDir, Mode: 0o555, ModTime: mt}},
		file("ro/suid", "12345", 0o4755),
		{e: layers.Entry{Path: "ro/sgid-sticky", Type: layers.TypeFile, Mode: 0o3775, Size: 1, ModTime: mt}, body: "x"},
		{e: layers.Entry{Path: "dev/null", Type: layers.TypeChar, Mode: 0o666}},
		{e: layers.Entry{Path: "dev/sda", Type: layers.TypeBlock, Mode: 0o660}},
		{e: layers.Entry{Path: "pipe", Type: layers.TypeFIFO, Mode: 0o600}},
		{e: layers.Entry{Path: "big", Type: layers.TypeFile, Mode: 0o644, Size: 5}, body: "toolong", want: errAny},
		{e: layers.Entry{Path: "over", Type: layers.TypeFile, Mode: 0o644, Size: 6}, body: "123456", want: ErrLimit},
	}
	for i, s := range steps {
		err := w.Add(&s.e, strings.NewReader(s.body))
		if (s.want == nil) != (err == nil) || (s.want == ErrLimit && !errors.Is(err, ErrLimit)) {
			t.Fatalf("step %d (%s): %v", i, s.e.Path, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(p string, mode fs.FileMode) {
		t.Helper()
		st, err := os.Lstat(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", p, st.Mode(), mode)
		}
	}
	check("ro", fs.ModeDir|0o555)
	check("ro/suid", 0o755)                      // setuid dropped
	check("ro/sgid-sticky", fs.ModeSticky|0o775) // setgid dropped, sticky kept
	check("pipe", fs.ModeNamedPipe|0o600)
	if st, _ := os.Stat(filepath.Join(out, "ro")); !st.ModTime().Equal(mt) {
		t.Errorf("ro mtime %v, want %v", st.ModTime(), mt)
	}
	if len(w.Skipped) != 2 || w.Skipped[0].Reason != "device node" {
		t.Errorf("skipped %+v", w.Skipped)
	}
	for _, p := range []string{"dev/null", "dev/sda", "big", "over"} {
		if _, err := os.Lstat(filepath.Join(out, p)); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	os.Chmod(filepath.Join(out, "ro"), 0o755) // let TempDir clean up
}

func TestWriterPreserveSpecialAndForce(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	os.MkdirAll(out, 0o755)
	os.Symlink(parent, filepath.Join(out, "etc")) // left by someone else
	if _, err := Create(out, Options{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-empty directory: %v", err)
	}
	w, err := Create(out, Options{Force: true, PreserveSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	s := file("etc/passwd", "x", 0o644)
	if err := w.Add(&s.e, strings.NewReader(s.body)); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("write through an existing symlink: %v", err)
	}
	s = file("suid", "x", 0o4755)
	if err := w.Add(&s.e, strings.NewReader(s.body)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if st, _ := os.Lstat(filepath.Join(out, "suid")); st.Mode() != fs.ModeSetuid|0o755 {
		t.Errorf("suid mode %v with PreserveSpecial", st.Mode())
	}
	if _, err := os.Lstat(filepath.Join(parent, "passwd")); err == nil {
		t.Error("passwd was written outside through the symlink")
	}
}
