package explore

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
	"github.com/strata-tool/strata/waste"
)

// The model is driven as the program drives it: messages in, View out.
// The demo image (testdata/demo, built by dockerd's classic builder) is:
//   step 2  layer 0  COPY busybox /bin/busybox
//   step 3  layer 1  RUN busybox --install -s /bin   (bin/* symlinks)
//   step 6  layer 2  WORKDIR /srv/demo               (srv/, srv/demo/)
//   step 7  layer 3  RUN mkdir … > /etc/passwd …      (etc/, tmp/, srv/demo/www/…)

// openModel opens ref and loads every layer into a model, as Run does but
// synchronously.
func openModel(t *testing.T, ref string, base *waste.Base) *Model {
	t.Helper()
	ctx := context.Background()
	src, err := source.Open(ctx, ref, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	im := layerindex.New(src, layerindex.Options{})
	m := newModel(ctx, ref, im, defaultKeymap())
	m.newImage = func() *layerindex.Image { return layerindex.New(src, layerindex.Options{}) }
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	var msgs []tea.Msg
	loadLayers(ctx, im, func(msg tea.Msg) { msgs = append(msgs, msg) })
	for _, msg := range msgs {
		if f, ok := msg.(failMsg); ok {
			t.Fatal(f.err)
		}
		m.Update(msg)
	}
	if base != nil {
		m.Update(baseMsg{base: *base})
	}
	if m.loading() || m.report == nil {
		t.Fatalf("not loaded: %d of %d layers", m.t.layers, len(m.info))
	}
	return m
}

func demo(t *testing.T) *Model {
	return openModel(t, filepath.Join(testenv.Testdata(), "demo", "demo.tar"), &waste.Base{Known: true, Name: "scratch"})
}

// press sends keys by their Bubble Tea names ("tab", "ctrl+u", "space",
// "x") or, for other strings, their characters one by one.
func press(m *Model, keys ...string) {
	for _, k := range keys {
		for _, msg := range keyMsgs(k) {
			_, cmd := m.Update(msg)
			runCmd(m, cmd)
		}
	}
}

// runCmd runs a command the way the program would and feeds its message
// back (batches and cursor blinks are ignored).
func runCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil || m.busy == "" {
		return // only view and extract run here (not a cursor's blink timer)
	}
	switch msg := cmd().(type) {
	case viewMsg, extractMsg:
		m.Update(msg)
	}
}

func keyMsgs(k string) []tea.Msg {
	named := map[string]tea.KeyPressMsg{
		"tab": {Code: tea.KeyTab}, "enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape},
		"up": {Code: tea.KeyUp}, "down": {Code: tea.KeyDown}, "space": {Code: tea.KeySpace, Text: " "},
		"pgdown": {Code: tea.KeyPgDown}, "pgup": {Code: tea.KeyPgUp}, "ctrl+space": {Code: tea.KeySpace, Mod: tea.ModCtrl},
		"backspace": {Code: tea.KeyBackspace},
	}
	if msg, ok := named[k]; ok {
		return []tea.Msg{msg}
	}
	if c, ok := strings.CutPrefix(k, "ctrl+"); ok && len(c) == 1 {
		return []tea.Msg{tea.KeyPressMsg{Code: rune(c[0]), Mod: tea.ModCtrl}}
	}
	var out []tea.Msg
	for _, r := range k {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// screen is the view as plain text.
func screen(m *Model) string { return ansi.Strip(m.View().Content) }

// treeRows lists the tree pane's rows as "mark path".
func treeRows(m *Model) []string {
	m.rebuild()
	var out []string
	for _, r := range m.rows {
		out = append(out, marks[m.st.st[r.id]]+" "+m.t.path(r.id))
	}
	return out
}

func TestLayerListAndTreeRender(t *testing.T) {
	m := demo(t)
	s := screen(m)
	for _, want := range []string{"✓    2   2.0 MB  COPY file:73e2b2d48", "WORKDIR /srv/demo", "›✓    7   7.7 kB  RUN mkdir -p www",
		"Files as of step 7 (layer 3)", "srv/", "passwd", "Efficiency 100.00 %", "Base scratch"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	if got := len(strings.Split(s, "\n")); got != 30 {
		t.Errorf("screen has %d lines, want 30 (the window's height)", got)
	}
}

func TestPanesAndLayerNavigation(t *testing.T) {
	m := demo(t)
	if m.focus != paneLayers {
		t.Fatal("the layers pane should have the focus first")
	}
	press(m, "tab")
	if m.focus != paneTree {
		t.Fatal("Tab did not move to the tree")
	}
	press(m, "tab", "up")
	if m.layer != 2 {
		t.Fatalf("up in the layers pane selected layer %d, want 2", m.layer)
	}
	// Step 6 (WORKDIR /srv/demo) adds srv/ and srv/demo/ and nothing else.
	press(m, "ctrl+u")
	got := strings.Join(treeRows(m), "\n")
	if want := "A srv\nA srv/demo"; got != want {
		t.Fatalf("changes of step 6:\n%s\nwant:\n%s", got, want)
	}
	if s := screen(m); !strings.Contains(s, "Files as of step 6 (layer 2)") || !strings.Contains(s, "A ") {
		t.Errorf("screen:\n%s", s)
	}
}

func TestShowHideToggles(t *testing.T) {
	m := demo(t)
	press(m, "ctrl+u") // hide unmodified: what step 7 did
	rows := treeRows(m)
	want := []string{"A etc", "A etc/group", "A etc/passwd", "M srv", "M srv/demo", "A srv/demo/VERSION",
		"A srv/demo/www", "A srv/demo/www/index.html", "A tmp"}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("step 7's changes:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	press(m, "tab", "ctrl+a") // in the tree: hide added too: only the modified directories stay
	if got := strings.Join(treeRows(m), "\n"); got != "M srv\nM srv/demo" {
		t.Fatalf("without added and unmodified:\n%s", got)
	}
	press(m, "ctrl+a", "ctrl+m") // modified hidden, added shown again
	got := treeRows(m)
	for _, r := range got {
		if !strings.HasPrefix(r, "A ") && r != "M srv" && r != "M srv/demo" {
			t.Errorf("with modified hidden, %q shows (only added paths and their directories may)", r)
		}
	}
	if len(got) != 9 {
		t.Fatalf("added only:\n%s", strings.Join(got, "\n"))
	}
}

func TestFilterNarrowsTheTree(t *testing.T) {
	m := demo(t)
	all := len(treeRows(m))
	press(m, "/", "passwd")
	got := strings.Join(treeRows(m), "\n")
	if got != "  bin\n  bin/mkpasswd\n  bin/passwd\nA etc\nA etc/passwd" {
		t.Fatalf("filter passwd:\n%s", got)
	}
	press(m, "enter")
	if m.filtering || m.sh.filter == nil {
		t.Fatal("Enter should keep the filter and leave the input")
	}
	press(m, "ctrl+f", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "bin/s[eh]")
	got = strings.Join(treeRows(m), "\n")
	for _, want := range []string{"bin/sh", "bin/sed", "bin/seq", "bin/sha256sum"} {
		if !strings.Contains(got, want) {
			t.Errorf("regex filter bin/s[eh] lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "bin/ls") || strings.Contains(got, "etc") {
		t.Errorf("regex filter let through too much:\n%s", got)
	}
	press(m, "esc")
	if n := len(treeRows(m)); n != all {
		t.Fatalf("Esc cleared the filter but %d rows show, want %d", n, all)
	}
}

func TestCollapseAndSort(t *testing.T) {
	m := demo(t)
	press(m, "tab")
	if treeRows(m)[0] != "  bin" {
		t.Fatalf("first row %q", treeRows(m)[0])
	}
	all := len(treeRows(m))
	press(m, "space") // collapse bin/
	if n := len(treeRows(m)); n >= all-100 {
		t.Fatalf("collapsing bin/ left %d of %d rows", n, all)
	}
	if s := screen(m); !strings.Contains(s, "bin/ [+]") {
		t.Errorf("a collapsed directory is not marked:\n%s", s)
	}
	press(m, "space", "ctrl+space")
	rows := treeRows(m)
	if strings.Join(rows, ",") != "  bin,A etc,M srv,A tmp" {
		t.Fatalf("Ctrl+Space should collapse every directory: %v", rows)
	}
	press(m, "ctrl+space", "s")
	rows = treeRows(m)
	if rows[0] != "  bin" || rows[1] != "  bin/busybox" {
		t.Fatalf("by size, bin/ (2 MB) and busybox come first: %v", rows[:3])
	}
	if i, j := indexOf(rows, "A etc"), indexOf(rows, "M srv"); i < 0 || j < 0 || i > j {
		t.Fatalf("by size, etc/ (53 B) comes before srv/ (33 B): %v", rows)
	}
}

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

func TestViewAndExtract(t *testing.T) {
	m := demo(t)
	press(m, "tab", "/", "etc/passwd", "enter", "down")
	press(m, "v")
	if m.ov != ovViewer {
		t.Fatalf("v did not open the viewer (status %q)", m.status)
	}
	s := screen(m)
	if !strings.Contains(s, "demo:x:1000:1000:demo:/srv/demo:/bin/sh") || !strings.Contains(s, "etc/passwd (text, 40 B)") {
		t.Fatalf("viewer:\n%s", s)
	}
	press(m, "X")
	if s := screen(m); !strings.Contains(s, "64 65 6d 6f 3a") || !strings.Contains(s, "|demo:x:1000:1000") {
		t.Fatalf("hex view:\n%s", s)
	}
	press(m, "/", "bin/sh", "enter")
	if m.view.found != 2 { // 40 bytes: the match at offset 34 is on hex line 2
		t.Fatalf("search found line %d", m.view.found)
	}
	press(m, "esc")
	dir := filepath.Join(t.TempDir(), "out")
	press(m, "x")
	if !m.prompting {
		t.Fatal("x did not ask where to extract")
	}
	m.prompt.SetValue(dir)
	press(m, "enter")
	if !strings.Contains(m.status, "wrote 1 file (40 B)") {
		t.Fatalf("extract: %q", m.status)
	}
	b, err := readFile(filepath.Join(dir, "etc", "passwd"))
	if err != nil || b != "demo:x:1000:1000:demo:/srv/demo:/bin/sh\n" {
		t.Fatalf("extracted file: %q, %v", b, err)
	}
	press(m, "x")
	m.prompt.SetValue(dir)
	press(m, "enter")
	if !strings.Contains(m.status, "extract:") || !strings.Contains(m.status, "not empty") {
		t.Fatalf("extracting into a non-empty directory must be refused: %q", m.status)
	}
}

func TestKeysFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "keys.yaml")
	writeFile(t, f, "keys:\n  quit: Q\n  filter: [ctrl+f, F]\n")
	km, err := LoadKeys(f, true)
	if err != nil {
		t.Fatal(err)
	}
	if km.action("Q") != actQuit || km.action("q") != "" || km.action("F") != actFilter || km.action("/") != "" {
		t.Fatalf("bindings: %v", km.byKey)
	}
	writeFile(t, f, "keys:\n  quit: [q]\n  view: q\n")
	if _, err := LoadKeys(f, true); err == nil || !strings.Contains(err.Error(), `key "q" is bound to both`) {
		t.Fatalf("a key bound twice: %v", err)
	}
	writeFile(t, f, "keys:\n  launch: z\n")
	if _, err := LoadKeys(f, true); err == nil || !strings.Contains(err.Error(), `unknown action "launch"`) {
		t.Fatalf("an unknown action: %v", err)
	}
	if _, err := LoadKeys(filepath.Join(dir, "none.yaml"), false); err != nil {
		t.Fatalf("a missing default file is no error: %v", err)
	}
	if _, err := LoadKeys(filepath.Join(dir, "none.yaml"), true); err == nil {
		t.Fatal("a missing named file is an error")
	}
}

// Only SGR sequences (colours, reverse) may reach the terminal from the
// view: the escape sequences of image text are escaped before.
var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

func onlySGR(t *testing.T, view string) {
	t.Helper()
	rest := sgr.ReplaceAllString(view, "")
	if i := strings.IndexAny(rest, "\x1b\x07\r\u202e\u2066\u200f\u009b"); i >= 0 {
		t.Fatalf("raw control in the view at %d: %q", i, rest[max(0, i-20):min(len(rest), i+20)])
	}
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The waste overlay lists what the single test image wastes (step 11 of
// testdata/builders/single deletes /tmp/junk and /app/keep.txt that steps
// 10 made) and Enter jumps to the step that caused it, the path under the
// cursor marked removed.
func TestWasteOverlayJumpsToTheCause(t *testing.T) {
	var ref string
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == "single" && b.Builder == "classic" {
			ref = b.Refs["docker-archive"]
		}
	}
	if ref == "" {
		t.Fatal("no classic-built single image in images.json")
	}
	m := openModel(t, ref, &waste.Base{Known: true, Name: "scratch"})
	press(m, "w")
	s := screen(m)
	if !strings.Contains(s, "step 11  deleted") || !strings.Contains(s, "fix: remove the files in the same RUN") {
		t.Fatalf("waste overlay:\n%s", s)
	}
	press(m, "enter")
	st, _ := m.im.Step(m.layer)
	if st.Step != 11 || m.ov != ovNone || m.focus != paneTree {
		t.Fatalf("Enter selected step %d (overlay %d, focus %d)", st.Step, m.ov, m.focus)
	}
	id := m.selected()
	if p := m.t.path(id); m.st.st[id] != stRemoved || (p != "app/keep.txt" && p != "tmp/junk" && p != "tmp/junk/a") {
		t.Fatalf("cursor on %q marked %q", p, marks[m.st.st[id]])
	}
	if !strings.Contains(screen(m), "Files as of step 11") {
		t.Errorf("screen:\n%s", screen(m))
	}
}

// In the layers pane Ctrl+A marks every change since the first layer and
// Ctrl+L the selected layer's own (dive's compare-all / compare-layer);
// in the tree Ctrl+A still hides added files.
func TestCompareAllAndLayer(t *testing.T) {
	m := demo(t)
	press(m, "ctrl+u") // unmodified hidden: the marks alone
	own := strings.Join(treeRows(m), "\n")
	press(m, "ctrl+a")
	if !m.compareAll || m.sh.hide[stAdded] {
		t.Fatalf("ctrl+a in the layers pane: compareAll %v, added hidden %v", m.compareAll, m.sh.hide[stAdded])
	}
	all := treeRows(m)
	// Step 7 against step 2 (layer 0, busybox alone): layer 1's links in
	// bin/, layer 2's srv/demo and layer 3's files are all marked added.
	for _, want := range []string{"A bin/sh", "A srv", "A srv/demo", "A srv/demo/VERSION", "A etc/passwd"} {
		if indexOf(all, want) < 0 {
			t.Errorf("all changes since layer 0 lack %q:\n%s", want, strings.Join(all, "\n"))
		}
	}
	if indexOf(all, "A bin/busybox") >= 0 || indexOf(all, "bin/busybox") >= 0 {
		t.Errorf("layer 0's own file is marked:\n%s", strings.Join(all, "\n"))
	}
	if s := screen(m); !strings.Contains(s, "(layer 3) · since layer 0") {
		t.Errorf("the tree's title does not say what it is marked against:\n%s", s)
	}
	press(m, "ctrl+l")
	if got := strings.Join(treeRows(m), "\n"); m.compareAll || got != own {
		t.Fatalf("ctrl+l: compareAll %v, rows\n%s\nwant step 7's own\n%s", m.compareAll, got, own)
	}
	press(m, "tab", "ctrl+a")
	if m.compareAll || !m.sh.hide[stAdded] {
		t.Fatalf("ctrl+a in the tree: compareAll %v, added hidden %v", m.compareAll, m.sh.hide[stAdded])
	}
}

// TestMouse: a click on a layer row selects that layer (layers pane
// focused), a click on a tree row selects that path (tree focused), and
// the wheel moves the selection. Rows are found on the drawn screen.
func TestMouse(t *testing.T) {
	m := demo(t)
	lineOf := func(text string, right bool) (x, y int) {
		t.Helper()
		for y, l := range strings.Split(screen(m), "\n") {
			lw := m.leftWidth()
			r := []rune(l)
			half := string(r[:min(lw, len(r))])
			if right {
				half = string(r[min(lw, len(r)):])
			}
			if i := strings.Index(half, text); i >= 0 {
				if right {
					return lw + 4, y
				}
				return 4, y
			}
		}
		t.Fatalf("%q not on screen:\n%s", text, screen(m))
		return 0, 0
	}
	click := func(x, y int) {
		m.Update(tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft})
	}
	press(m, "tab") // focus the tree, so the click must move it back
	click(lineOf("WORKDIR /srv/demo", false))
	if m.layer != 2 || m.focus != paneLayers {
		t.Fatalf("click on step 6's row: layer %d, focus %v; want layer 2, the layers pane", m.layer, m.focus)
	}
	press(m, "down") // back to step 7
	click(lineOf("├─ ash → ", true))
	if id := m.selected(); m.focus != paneTree || id <= 0 || m.t.path(id) != "bin/ash" {
		t.Fatalf("click on bin/ash: focus %v, selected %q", m.focus, m.t.path(m.selected()))
	}
	before := m.cursor
	m.Update(tea.MouseWheelMsg{X: 50, Y: 10, Button: tea.MouseWheelDown})
	if m.cursor != before+1 {
		t.Fatalf("wheel down: cursor %d, want %d", m.cursor, before+1)
	}
	m.Update(tea.MouseWheelMsg{X: 50, Y: 10, Button: tea.MouseWheelUp})
	if m.cursor != before {
		t.Fatalf("wheel up: cursor %d, want %d", m.cursor, before)
	}
}
