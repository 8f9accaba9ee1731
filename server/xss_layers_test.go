package server

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Hostile file names the XSS image's layers carry: markup, a terminal
// escape (OSC: retitle the window), a bidi override, a newline; and
// what the views must show for each (controls as safetext escapes them).
var hostileNames = []struct{ name, shown string }{
	{"<script>alert(1)</script>", "<script>alert(1)</script>"},
	{"esc\x1b]0;pwned\x07title", `esc\x1b]0;pwned\x07title`},
	{"bidi\u202egnp.exe", `bidi\u202egnp.exe`},
	{"new\nline<b>x</b>", `new\nline<b>x</b>`},
}

const (
	hostileLink   = `<img src=x onerror="document.title='pwned-link'">`
	hostileGone   = `hostile-gone<svg onload="document.title='pwned-gone'">`
	hostileShared = "the same content in every hostile file\n"
)

// hostileNameLayers are two layers: one writing files with hostile names
// (the same content, so the waste view lists them as duplicates) and a
// symlink with a hostile target, one deleting a file with a hostile name
// (a waste finding and offender). Generated in the test: hostile input.
func hostileNameLayers(t *testing.T) (named, gone v1.Layer) {
	t.Helper()
	var files []tar.Header
	for _, h := range hostileNames {
		files = append(files, tar.Header{Name: h.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(hostileShared))})
	}
	files = append(files, tar.Header{Name: "hostile-link", Typeflag: tar.TypeSymlink, Linkname: hostileLink, Mode: 0o777},
		tar.Header{Name: hostileGone, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(hostileShared)) * 100})
	named = tarLayer(t, files)
	gone = tarLayer(t, []tar.Header{{Name: ".wh." + hostileGone, Typeflag: tar.TypeReg, Mode: 0o644}})
	return named, gone
}

func tarLayer(t *testing.T, hs []tar.Header) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hs {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(strings.Repeat(hostileShared, int(h.Size)/len(hostileShared))))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestXSSFilesAndWaste: on the files and waste views of the hostile
// image, every hostile name and link target shows as text — markup
// escaped, controls and bidi overrides as visible escapes — never as
// markup or a raw control; the JSON API stays valid and carries the
// names unchanged.
func TestXSSFilesAndWaste(t *testing.T) {
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}, IndexStore: mustDirStore(t)})
	ref := pushXSSImage(t)
	for _, view := range []string{"files", "waste"} {
		resp, body := ts.get(t, "/images/"+ref+"/-/"+view)
		if resp.StatusCode != 200 {
			t.Fatalf("%s view: %s\n%s", view, resp.Status, body)
		}
		page := string(body)
		for _, bad := range []string{"<script", "<img src=x", "<svg onload", "<b>x", "\x1b", "\x07", "\u202e"} {
			if strings.Contains(page, bad) {
				t.Errorf("the %s page contains %q", view, bad)
			}
		}
		if m := handlerAttr.FindString(page); m != "" {
			t.Errorf("an element of the %s page has an event handler: %s", view, m)
		}
		text := pageText(body)
		want := []string{hostileGone}
		if view == "files" {
			want = []string{"hostile-link -> " + hostileLink}
		}
		for _, h := range hostileNames {
			want = append(want, h.shown)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("the %s page does not show %q as text", view, w)
			}
		}
	}
	_, body := ts.get(t, "/v1/images/"+ref+"/-/files")
	var f apiFiles
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("files API: %v\n%s", err, body)
	}
	paths := map[string]string{}
	for _, r := range f.Files {
		paths[r.Path] = r.Link
	}
	for _, h := range hostileNames {
		if _, ok := paths[h.name]; !ok {
			t.Errorf("the files API lacks %q", h.name)
		}
	}
	if paths["hostile-link"] != hostileLink {
		t.Errorf("the files API gives hostile-link's target as %q", paths["hostile-link"])
	}
	_, body = ts.get(t, "/v1/images/"+ref+"/-/waste")
	var w apiWaste
	if err := json.Unmarshal(body, &w); err != nil || w.Report == nil || len(w.Top) == 0 || w.Top[0].Path != hostileGone {
		t.Errorf("waste API (%v): %s", err, body)
	}
}
