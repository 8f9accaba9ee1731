package explore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// openCompare opens the classic builder's parent (archive) and child
// (registry) as RunCompare does, with the file diff delivered at once.
// testdata/builders: the parent writes "parent" to /etc/strata/role; the
// child rewrites it to "child" and adds /etc/strata/child ("child").
func openCompare(t *testing.T) *compareModel {
	t.Helper()
	parent := testenv.BuiltRef(t, "parent", "classic", "docker-archive")
	child := testenv.BuiltRef(t, "child", "classic", "registry")
	ctx := context.Background()
	var srcs [2]source.Source
	for i, ref := range []string{parent, child} {
		src, err := source.Open(ctx, ref, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		srcs[i] = src
	}
	store, err := layerindex.NewDirStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	m := newCompareModel(ctx, CompareOptions{Options: Options{Store: store}, SourceB: srcs[1]}.with(srcs[0]), defaultKeymap())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	r, err := diff.Files(ctx, srcs[0].Image(), srcs[1].Image(), srcs[0], srcs[1], m.res.SharedLayers, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(filesMsg{r: r})
	return m
}

func (o CompareOptions) with(a source.Source) CompareOptions {
	o.Source = a
	return o
}

// pressCompare sends keys and runs what a key starts (view, extract).
func pressCompare(m *compareModel, keys ...string) {
	for _, k := range keys {
		for _, msg := range keyMsgs(k) {
			_, cmd := m.Update(msg)
			if cmd != nil && m.busy != "" {
				m.Update(cmd())
			}
		}
	}
}

func compareScreen(m *compareModel) string { return ansi.Strip(m.View().Content) }

// selectRow filters the list down to path and checks it is the row shown.
func selectRow(t *testing.T, m *compareModel, path string) {
	t.Helper()
	pressCompare(m, "/")
	m.filter.SetValue("")
	pressCompare(m, path, "enter")
	if len(m.rows) == 0 || m.rows[0].Path != path {
		t.Fatalf("filter %q: rows %+v", path, m.rows)
	}
}

// TestCompareViewAndExtract: in compare mode v shows a file as the chosen
// side has it (B by default, Tab switches to A; a path B wrote over the
// shared base and A lacks is shown as B's, said so), q closes the viewer,
// x extracts it safely.
func TestCompareViewAndExtract(t *testing.T) {
	m := openCompare(t)
	selectRow(t, m, "/etc/strata/role")
	pressCompare(m, "v")
	if s := compareScreen(m); m.view == nil || !strings.Contains(s, "B: /etc/strata/role") || !strings.Contains(s, "child") {
		t.Fatalf("v on a changed path: want B's copy (child)\n%s\nstatus %q", s, m.status)
	}
	pressCompare(m, "q")
	if m.view != nil {
		t.Fatal("q did not close the viewer")
	}
	pressCompare(m, "tab", "v")
	if s := compareScreen(m); m.view == nil || !strings.Contains(s, "A: /etc/strata/role") || !strings.Contains(s, "parent") {
		t.Fatalf("tab, v: want A's copy (parent)\n%s\nstatus %q", s, m.status)
	}
	pressCompare(m, "esc")
	selectRow(t, m, "/etc/strata/child")
	pressCompare(m, "v")
	if s := compareScreen(m); m.view == nil || !strings.Contains(s, "B: /etc/strata/child (not in A)") || !strings.Contains(s, "child") {
		t.Fatalf("v with side A on a path only B wrote: want B's copy, said so\n%s\nstatus %q", s, m.status)
	}
	pressCompare(m, "q")

	dir := filepath.Join(t.TempDir(), "out")
	selectRow(t, m, "/etc/strata/role")
	pressCompare(m, "x")
	if !m.prompting {
		t.Fatal("x did not ask for a directory")
	}
	m.prompt.SetValue(dir)
	pressCompare(m, "enter")
	got, err := os.ReadFile(filepath.Join(dir, "etc", "strata", "role"))
	if err != nil || string(got) != "parent\n" {
		t.Fatalf("extract of A's /etc/strata/role: %q, %v (status %q)", got, err, m.status)
	}
	if !strings.Contains(m.status, "A: wrote 1 file") {
		t.Errorf("status %q", m.status)
	}
}
