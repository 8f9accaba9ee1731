package layerindex

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/ocitest"
)

func d(name string) ocitest.Member { return ocitest.Member{Name: name, Type: tar.TypeDir, Mode: 0o755} }
func f(name, body string) ocitest.Member {
	return ocitest.Member{Name: name, Mode: 0o644, Body: []byte(body)}
}
func sl(name, to string) ocitest.Member {
	return ocitest.Member{Name: name, Type: tar.TypeSymlink, Link: to, Mode: 0o777}
}

// stackImage is three layers exercising every overlay rule; the expected
// results below are worked out by hand from these tars.
func stackImage(t *testing.T) *Image {
	t.Helper()
	l0 := ocitest.Tar(t, d("bin/"), f("bin/busybox", "BB"), sl("bin/sh", "busybox"), d("etc/"), f("etc/passwd", "root"),
		sl("etc/up", "../../../.."), sl("abs", "/etc"), sl("loop", "loop2"), sl("loop2", "loop"),
		d("data/"), f("data/a", "A"), d("data/dir/"), f("data/dir/x", "X"))
	l1 := ocitest.Tar(t, f("data/.wh.a", ""), d("data/dir/"), f("data/dir/.wh..wh..opq", ""), f("data/dir/y", "Y"),
		ocitest.Member{Name: "etc/passwd", Mode: 0o600, Body: []byte("root")}, f("new.txt", "new"),
		ocitest.Member{Name: "etc/passwd-hl", Type: tar.TypeLink, Link: "etc/passwd"})
	l2 := ocitest.Tar(t, sl("evil", "/tmp"), f("evil/pwned", "P"), f("dup", "first"), f("dup", "second"))
	dir := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{
		{Blob: ocitest.Gzip(t, l0), Tar: l0, CreatedBy: "/bin/sh -c #(nop) COPY dir:0123 in / "},
		{Blob: ocitest.Gzip(t, l1), Tar: l1, CreatedBy: "/bin/sh -c change things"},
		{Blob: ocitest.Gzip(t, l2), Tar: l2, CreatedBy: "/bin/sh -c be hostile"},
	})
	return openTest(t, dir, Options{})
}

func TestMergeBlameAndOrphans(t *testing.T) {
	im := stackImage(t)
	fsys, err := im.Merge(3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range fsys.Files() {
		got = append(got, fmt.Sprintf("%s %s %o L%d", e.Path, e.Type, e.Mode, e.Layer))
	}
	want := []string{
		"abs symlink 777 L0", "bin dir 755 L0", "bin/busybox file 644 L0", "bin/sh symlink 777 L0",
		"data dir 755 L0", "data/dir dir 755 L1", "data/dir/y file 644 L1",
		"dup file 644 L2", "etc dir 755 L0", "etc/passwd file 600 L1", "etc/passwd-hl hardlink 0 L1",
		"etc/up symlink 777 L0", "evil symlink 777 L2", "loop symlink 777 L0", "loop2 symlink 777 L0", "new.txt file 644 L1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("merged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(fsys.Orphans, ",") != "evil/pwned" {
		t.Errorf("orphans %v, want [evil/pwned]", fsys.Orphans)
	}
	if s, ok := im.Step(1); !ok || s.Step != 2 || s.Instruction != "RUN change things" {
		t.Errorf("step of layer 1: %+v", s)
	}
	sizes := fsys.DirSizes()
	if sizes[""] != int64(len("BB")+len("Y")+len("second")+len("root")+len("new")) || sizes["data"] != 1 {
		t.Errorf("dir sizes %v", sizes)
	}
	// Content: the later duplicate wins; a hardlink reads its target.
	for path, body := range map[string]string{"dup": "second", "etc/passwd-hl": "root", "data/dir/y": "Y"} {
		e, _ := fsys.Lookup(path)
		rc, err := im.Open(context.Background(), e)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != body {
			t.Errorf("%s: %q, %v; want %q", path, b, err, body)
		}
	}
}

func TestResolveStaysInside(t *testing.T) {
	im := stackImage(t)
	fsys, _ := im.Merge(3)
	cases := map[string]string{
		"bin/sh":            "bin/busybox",
		"/bin/sh":           "bin/busybox",
		"etc/up/etc/passwd": "etc/passwd", // "../../../.." stops at the image root
		"abs/passwd":        "etc/passwd", // "/etc" is the image's /etc
		"abs/../new.txt":    "new.txt",
		"data":              "data",
	}
	for in, want := range cases {
		p, e, err := fsys.Resolve(in)
		if err != nil || p != want || e.Entry == nil {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, p, err, want)
		}
	}
	if _, _, err := fsys.Resolve("loop"); !errors.Is(err, ErrLoop) {
		t.Errorf("loop: %v", err)
	}
	for _, missing := range []string{"evil/pwned", "data/a", "data/dir/x", "nope"} {
		if _, _, err := fsys.Resolve(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Resolve(%q): %v, want not found", missing, err)
		}
	}
}

func TestChanges(t *testing.T) {
	im := stackImage(t)
	all, err := im.Changes(3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range all[1] {
		lower := "-"
		if c.Lower.Entry != nil {
			lower = fmt.Sprintf("L%d", c.Lower.Layer)
		}
		got = append(got, fmt.Sprintf("%s %s %s", c.Kind, c.Path, lower))
	}
	want := []string{
		"deleted data/a L0", "modified data/dir L0", "opaque data/dir L0", "added data/dir/y -",
		"modified etc/passwd L0", "added etc/passwd-hl -", "added new.txt -",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("layer 1 changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(all[0]) != 13 || len(all[2]) != 3 {
		t.Errorf("layer 0: %d changes (want 13), layer 2: %d (want 3: evil, evil/pwned, dup once)", len(all[0]), len(all[2]))
	}
}
