package main

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/ocitest"
)

// hostileContextImage is an image whose COPY layers try every way out of
// a build-context directory a tar allows, behind BuildKit and classic
// history entries that name hostile sources (generated here: no builder
// writes such layers).
func hostileContextImage(t *testing.T) string {
	m := func(name string, typ byte, mode int64, body, link string) ocitest.Member {
		return ocitest.Member{Name: name, Type: typ, Mode: mode, Body: []byte(body), Link: link}
	}
	layer := func(createdBy string, ms ...ocitest.Member) ocitest.Layer {
		l := ocitest.GzipLayer(t, ocitest.Tar(t, ms...))
		l.CreatedBy = createdBy
		return l
	}
	return ocitest.Layout(t, t.TempDir(), []ocitest.Layer{
		layer("COPY app /app # buildkit",
			m("app/", tar.TypeDir, 0o755, "", ""),
			m("app/ok.txt", tar.TypeReg, 0o644, "fine", ""),
			m("app/su", tar.TypeReg, 0o4755, "setuid", ""),
			ocitest.Member{Name: "app/mem", Type: tar.TypeChar, Mode: 0o666, Major: 1, Minor: 1},
			m("app/fifo", tar.TypeFifo, 0o644, "", ""),
			m("app/evil", tar.TypeSymlink, 0o777, "", "../../../outside"),
			m("app/evil/pwned", tar.TypeReg, 0o644, "through evil", ""),
			m("app/root", tar.TypeSymlink, 0o777, "", "/"),
			m("app/root/etc/pwned", tar.TypeReg, 0o644, "through root", ""),
			m("app/hl", tar.TypeLink, 0, "", "app/ok.txt"),
			m("app/hl-escape", tar.TypeLink, 0, "", "../../outside/sentinel"),
			m("../../escape.txt", tar.TypeReg, 0o644, "dot-dot", "")),
		layer("COPY ../../outside/x /etc/x # buildkit", m("etc/x", tar.TypeReg, 0o644, "traversal name", "")),
		layer("COPY Dockerfile /Dockerfile # buildkit", m("Dockerfile", tar.TypeReg, 0o644, "FROM evil", "")),
		layer("COPY /abs/stage.txt /opt/stage.txt # buildkit", m("opt/stage.txt", tar.TypeReg, 0o644, "from a stage", "")),
		layer("/bin/sh -c #(nop) COPY dir:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd in /srv ",
			m("srv/a", tar.TypeReg, 0o600, "a", ""), m("srv/link", tar.TypeSymlink, 0o777, "", "/etc/passwd")),
	})
}

// contextInto runs dockerfile --context into parent/ctx beside
// parent/outside/sentinel and checks nothing but ctx/ changed in parent.
func contextInto(t *testing.T, parent string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	os.Mkdir(filepath.Join(parent, "outside"), 0o755)
	os.WriteFile(filepath.Join(parent, "outside", "sentinel"), []byte("untouched"), 0o644)
	code, stdout, stderr = runCLI(t, append([]string{"dockerfile", "--no-cache", "--context", filepath.Join(parent, "ctx")}, args...)...)
	for _, l := range listing(t, parent) {
		if l != "outside drwxr-xr-x" && l != "outside/sentinel -rw-r--r--" && !strings.HasPrefix(l, "ctx ") && !strings.HasPrefix(l, "ctx/") {
			t.Errorf("written outside the context directory: %s", l)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "outside", "sentinel")); string(b) != "untouched" {
		t.Error("outside/sentinel was written through")
	}
	return code, stdout, stderr
}

func TestContextContainsHostileLayers(t *testing.T) {
	img := hostileContextImage(t)
	parent := t.TempDir()
	code, _, stderr := contextInto(t, parent, img)
	ctx := filepath.Join(parent, "ctx")
	got := strings.Join(listing(t, ctx), "\n")
	for _, want := range []string{
		"Dockerfile -rw-r--r--",
		"app/ok.txt -rw-r--r--", "app/su -rwxr-xr-x", // setuid dropped
		"app/evil Lrwxrwxrwx -> ../../../outside", "app/root Lrwxrwxrwx -> /",
		"app/hl -rw-r--r--", // a hardlink inside the tree
		"from-stage/abs/stage.txt -rw-r--r--",
		"step-2-etc/x -rw-r--r--",           // a traversing source name: a folder of its own
		"step-3-root/Dockerfile -rw-r--r--", // the context's own Dockerfile name is taken
		"step-5-srv/a -rw-------", "step-5-srv/link Lrwxrwxrwx -> /etc/passwd",
		"unaccounted/escape.txt -rw-r--r--", // ../../escape.txt is /escape.txt in the image, which no step's destination holds
	} {
		if !strings.Contains(got, want) {
			t.Errorf("context lacks %q:\n%s", want, got)
		}
	}
	for _, never := range []string{"pwned", "mem", "fifo", "hl-escape"} {
		if strings.Contains(got, never) {
			t.Errorf("context holds %q:\n%s", never, got)
		}
	}
	if code != 0 {
		t.Errorf("exit %d (want 0)\n%s", code, stderr)
	}
	df, _ := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
	if err := dockerfile.Validate(string(df)); err != nil || strings.Contains(string(df), "FROM evil") {
		t.Errorf("Dockerfile: %v\n%s", err, df)
	}
	for _, want := range []string{"COPY app/ /app", "COPY step-2-etc/x /etc/x", "COPY step-3-root/Dockerfile /Dockerfile",
		"COPY from-stage/abs/stage.txt /opt/stage.txt", "COPY step-5-srv/ /srv", "setuid/setgid bits",
		"2 path(s) below a symlink", "COPY unaccounted/ /", "device node(s), FIFO(s) or dangling hardlink(s)"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if code, _, stderr := contextInto(t, parent, img); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("into a non-empty directory: exit %d, %s", code, stderr)
	}
	if code, _, stderr := contextInto(t, parent, "--force", "--preserve-special", img); code != 0 {
		t.Errorf("--force: exit %d, %s", code, stderr)
	}
	if l := strings.Join(listing(t, ctx), "\n"); !strings.Contains(l, "app/su urwxr-xr-x") {
		t.Errorf("--preserve-special dropped the setuid bit:\n%s", l)
	}
}
