package explore

import (
	"archive/tar"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/waste"
)

// HostileLayout writes an image whose paths, link targets, history and
// file content carry terminal controls: an OSC 52 clipboard write, a
// screen clear, a bell, a right-to-left override, a bare CR. Exported to
// the package's tests (the tmux test runs it through the binary too).
func hostileLayout(t testing.TB, dir string) string {
	l0 := ocitest.Tar(t,
		ocitest.Member{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		ocitest.Member{Name: "etc/\x1b]52;c;cHduZWQ=\x07clip", Mode: 0o644, Body: []byte("osc\n")},
		ocitest.Member{Name: "etc/evil\u202etxt.exe", Mode: 0o644, Body: []byte("bidi\n")},
		ocitest.Member{Name: "etc/cr\rfake", Mode: 0o644, Body: []byte("cr\n")},
		ocitest.Member{Name: "etc/content", Mode: 0o644, Body: []byte("before \x1b[2J\x1b]0;pwned\x07 after\n")},
		ocitest.Member{Name: "etc/link", Type: tar.TypeSymlink, Link: "\x1b[31mred\x1b[0m", Mode: 0o777},
	)
	return ocitest.Layout(t, dir, []ocitest.Layer{{Blob: ocitest.Gzip(t, l0), Tar: l0,
		CreatedBy: "/bin/sh -c echo \x1b]8;;http://evil\x07click\x1b]8;;\x07 \u2066x\u2069 \u009b31m"}})
}

func TestHostileTextIsEscaped(t *testing.T) {
	m := openModel(t, hostileLayout(t, t.TempDir()), &waste.Base{Name: "\x1b[2Jbase", Layers: 0, Known: true})
	press(m, "tab")
	v := m.View().Content
	onlySGR(t, v)
	s := screen(m)
	for _, want := range []string{`\x1b]52;c;cHduZWQ=\x07clip`, `evil\u202etxt.exe`, `cr\rfake`, `link → \x1b[31mred`} {
		if !strings.Contains(s, want) {
			t.Errorf("the tree lacks the escaped %q:\n%s", want, s)
		}
	}
	if !strings.Contains(s, `echo \x1b]8;;http://evil\x07click`) {
		t.Errorf("the layer list lacks the escaped instruction:\n%s", s)
	}
	// The viewer shows content escaped too.
	press(m, "/", "content", "enter", "down", "v")
	if m.ov != ovViewer {
		t.Fatalf("no viewer: %q", m.status)
	}
	v = m.View().Content
	onlySGR(t, v)
	if s := screen(m); !strings.Contains(s, `before \x1b[2J\x1b]0;pwned\x07 after`) {
		t.Errorf("viewer:\n%s", s)
	}
	// And so are the waste overlay and help.
	press(m, "esc", "w")
	onlySGR(t, m.View().Content)
	press(m, "esc", "?")
	onlySGR(t, m.View().Content)
}
