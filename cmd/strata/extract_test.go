package main

import (
	"archive/tar"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/ocitest"
)

// hostileLayers is an image whose layers try every way out of the
// extraction directory that a tar allows (generated here: no builder
// writes such layers).
func hostileLayers(t *testing.T) []ocitest.Layer {
	m := func(name string, typ byte, mode int64, body, link string) ocitest.Member {
		return ocitest.Member{Name: name, Type: typ, Mode: mode, Body: []byte(body), Link: link}
	}
	l0 := ocitest.Tar(t,
		m("../../escape.txt", tar.TypeReg, 0o644, "dot-dot", ""),
		m("/abs.txt", tar.TypeReg, 0o644, "absolute", ""),
		m("d/", tar.TypeDir, 0o755, "", ""),
		m("d/f", tar.TypeReg, 0o644, "under d", ""),
		ocitest.Member{Name: "dev/mem", Type: tar.TypeChar, Mode: 0o666, Major: 1, Minor: 1},
		ocitest.Member{Name: "dev/sda", Type: tar.TypeBlock, Mode: 0o660, Major: 8},
		m("bin/su", tar.TypeReg, 0o4755, "setuid", ""),
		m("bin/sg", tar.TypeReg, 0o2755, "setgid", ""),
		m("dup", tar.TypeReg, 0o644, "first", ""),
		m("dup", tar.TypeReg, 0o600, "second", ""),
		m("evil", tar.TypeSymlink, 0o777, "", "../outside"),
		m("root", tar.TypeSymlink, 0o777, "", "/"),
		m("hl-escape", tar.TypeLink, 0, "", "../../outside/sentinel"),
	)
	l1 := ocitest.Tar(t,
		m("d", tar.TypeSymlink, 0o777, "", "../outside"), // swapped in for the directory
		m("d/pwned", tar.TypeReg, 0o644, "through d", ""),
		m("evil/pwned", tar.TypeReg, 0o644, "through evil", ""),
		m("root/etc/pwned", tar.TypeReg, 0o644, "through root", ""),
		m("hl-through", tar.TypeLink, 0, "", "evil/sentinel"),
		m("hl-symlink", tar.TypeLink, 0, "", "evil"),
	)
	return []ocitest.Layer{ocitest.GzipLayer(t, l0), ocitest.GzipLayer(t, l1)}
}

// listing lists everything below root, symlinks with their targets.
func listing(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, _ := os.Lstat(p)
		s := rel + " " + info.Mode().String()
		if info.Mode()&fs.ModeSymlink != 0 {
			to, _ := os.Readlink(p)
			s += " -> " + to
		}
		out = append(out, s)
		return nil
	})
	sort.Strings(out)
	return out
}

// extractInto runs extract into parent/out beside parent/outside/sentinel
// and checks that nothing but out/ changed in parent.
func extractInto(t *testing.T, args ...string) (code int, out []string, stdout, stderr string) {
	t.Helper()
	parent := t.TempDir()
	os.Mkdir(filepath.Join(parent, "outside"), 0o755)
	os.WriteFile(filepath.Join(parent, "outside", "sentinel"), []byte("untouched"), 0o644)
	dir := filepath.Join(parent, "out")
	code, stdout, stderr = runCLI(t, append(append([]string{"extract", "--no-cache"}, args...), "-C", dir)...)
	for _, l := range listing(t, parent) {
		if l != "outside drwxr-xr-x" && l != "outside/sentinel -rw-r--r--" && !strings.HasPrefix(l, "out ") && !strings.HasPrefix(l, "out/") {
			t.Errorf("written outside the directory: %s", l)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "outside", "sentinel")); string(b) != "untouched" {
		t.Error("outside/sentinel was written through")
	}
	return code, listing(t, dir), stdout, stderr
}

func TestExtractContainsHostileLayers(t *testing.T) {
	img := ocitest.Layout(t, t.TempDir(), hostileLayers(t))
	code, got, _, stderr := extractInto(t, img)
	want := []string{
		"abs.txt -rw-r--r--",
		"bin drwxr-xr-x", "bin/sg -rwxr-xr-x", "bin/su -rwxr-xr-x", // setuid/setgid dropped
		"d Lrwxrwxrwx -> ../outside",
		"dup -rw-------",
		"escape.txt -rw-r--r--",
		"evil Lrwxrwxrwx -> ../outside",
		"hl-symlink Lrwxrwxrwx -> ../outside", // a hardlink to the symlink itself
		"root Lrwxrwxrwx -> /",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("extracted:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (entries refused)", code)
	}
	for _, say := range []string{"skipped dev/mem: device node", "skipped dev/sda: device node", "refused d/pwned",
		"refused evil/pwned", "refused root/etc/pwned", "refused hl-escape", "refused hl-through", "5 entries refused"} {
		if !strings.Contains(stderr, say) {
			t.Errorf("stderr lacks %q:\n%s", say, stderr)
		}
	}
	code, got, _, _ = extractInto(t, "--preserve-special", img, "bin")
	if code != 0 || strings.Join(got, ",") != "bin drwxr-xr-x,bin/sg grwxr-xr-x,bin/su urwxr-xr-x" {
		t.Errorf("--preserve-special bin: exit %d, %v", code, got)
	}
}

func TestExtractRefusesLyingSizesAndBombs(t *testing.T) {
	// A header claiming 1 TB in front of 11 bytes: the layer is unreadable.
	huge := ocitest.Tar(t, ocitest.Member{Name: "huge", Mode: 0o644, Body: []byte("hello world"), Size: 1 << 40})
	img := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: ocitest.Gzip(t, huge), Tar: huge}})
	code, got, _, stderr := extractInto(t, img)
	if code != 1 || len(got) != 0 || !strings.Contains(stderr, "huge") || !strings.Contains(stderr, "EOF") {
		t.Errorf("1 TB header: exit %d, wrote %v, stderr %q", code, got, stderr)
	}
	// 256 MiB of zeros gzip to 256 KB.
	bomb := ocitest.Tar(t, ocitest.Member{Name: "zeros", Mode: 0o644, Body: make([]byte, 256<<20)})
	blob := ocitest.Gzip(t, bomb)
	if len(blob) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", len(blob))
	}
	img = ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: blob, Tar: bomb}})
	bomb = nil
	code, got, _, stderr = extractInto(t, "--max-size", "64MB", img)
	if code != 1 || len(got) != 0 || !strings.Contains(stderr, "over --max-size") || !strings.Contains(stderr, "nothing written") {
		t.Errorf("gzip bomb: exit %d, wrote %v, stderr %q", code, got, stderr)
	}
	code, stdout, _ := runCLI(t, "files", "--no-cache", img)
	if code != 0 || !strings.Contains(stdout, "268435456") {
		t.Errorf("files of the bomb: exit %d, %q", code, stdout)
	}
}
