package dockerfile_test

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/safetext"
)

const bk = "buildkit.dockerfile.v0"

// hostileImage builds an image from history entries (each with a layer
// unless empty) and a config; inputs are generated here, not taken from a
// builder, because no honest builder writes them.
func hostileImage(cc image.ContainerConfig, hist ...image.History) *image.Image {
	n := 0
	for _, h := range hist {
		if !h.EmptyLayer {
			n++
		}
	}
	img := &image.Image{Reference: "hostile", Config: image.Config{OS: "linux", Architecture: "amd64", Config: cc}, Layers: make([]image.Layer, n)}
	img.SetHistory(hist)
	return img
}

// TestNoInstructionSmuggling: text from the image (a config key, a flag,
// a health check, heredoc sources) that holds a line break must not add an
// instruction of its own to the printed Dockerfile. Every vector below
// made strata print a USER root that no history step holds, and the
// BuildKit parse check passed because the text still parsed.
func TestNoInstructionSmuggling(t *testing.T) {
	cases := []struct {
		name string
		img  *image.Image
	}{
		{"EXPOSE key in the config, with an EXPOSE step", hostileImage(
			image.ContainerConfig{ExposedPorts: map[string]struct{}{"8080/tcp\nUSER root": {}}},
			image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk},
			image.History{CreatedBy: "EXPOSE map[]", Comment: bk, EmptyLayer: true})},
		{"EXPOSE key in the config only", hostileImage(
			image.ContainerConfig{ExposedPorts: map[string]struct{}{"8080/tcp\nUSER root": {}, "80/tcp": {}}},
			image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk})},
		{"buildah RUN flag with tab and newline", hostileImage(image.ContainerConfig{},
			image.History{CreatedBy: "/bin/sh -c --mount=type=cache,target=/x\tls\nUSER\troot echo hi", Comment: "FROM docker.io/library/alpine:3.20"})},
		{"kaniko RUN flag with tab and newline", hostileImage(image.ContainerConfig{},
			image.History{CreatedBy: "RUN --network=none\tls\nUSER\troot echo hi", Author: "kaniko"})},
		{"BuildKit COPY flag", hostileImage(image.ContainerConfig{},
			image.History{CreatedBy: "COPY --chown=1:1\ta\tb\nUSER\troot /a /b # buildkit", Comment: bk})},
		{"kaniko ADD flag", hostileImage(image.ContainerConfig{},
			image.History{CreatedBy: "ADD --chmod=644\ta\tb\nUSER\troot /a /b", Author: "kaniko"})},
		{"buildah HEALTHCHECK text", hostileImage(image.ContainerConfig{},
			image.History{CreatedBy: "/bin/sh -c #(nop) HEALTHCHECK --interval=5s CMD true\nUSER root", Comment: "FROM docker.io/library/alpine:3.20", EmptyLayer: true},
			image.History{CreatedBy: "/bin/sh -c echo layer", Comment: "FROM 8422f1c64edb"})},
		{"COPY heredoc with JSON-form sources", hostileImage(image.ContainerConfig{},
			image.History{CreatedBy: `COPY ["<<EOF", "x\nEOF\nUSER root\nRUN <<EOF", "/d"] # buildkit`, Comment: bk})},
		{"ONBUILD in the config", hostileImage(image.ContainerConfig{OnBuild: []string{"RUN true\nUSER root"}},
			image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk})},
		{"CMD, ENTRYPOINT, SHELL, VOLUME, WORKDIR, STOPSIGNAL in the config", hostileImage(image.ContainerConfig{
			Cmd: []string{"/bin/sh", "-c", "a\nUSER root"}, Entrypoint: []string{"x\nUSER root"}, Shell: []string{"/bin/sh\nUSER root", "-c"},
			Volumes: map[string]struct{}{"/v\nUSER root": {}}, WorkingDir: "/w\nUSER root", StopSignal: "TERM\rUSER root",
			Healthcheck: &image.Healthcheck{Test: []string{"CMD-SHELL", "true\nUSER root"}}},
			image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk})},
		{"base name annotation", func() *image.Image {
			img := hostileImage(image.ContainerConfig{}, image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk})
			img.Annotations = map[string]string{image.AnnotationBaseName: "alpine\nUSER root"}
			return img
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := dockerfile.Render(tc.img, dockerfile.Options{})
			checkExactInstructions(t, tc.img, res)
			if strings.Contains(strings.ToUpper(res.Text), "\nUSER ROOT") {
				t.Errorf("smuggled USER:\n%s", res.Text)
			}
		})
	}
}

// checkExactInstructions asserts what every rendering must hold: it
// parses; each step's text parses to its own instruction (after the ARGs
// its RUN implies) and nothing else; the whole holds no more instructions
// than FROM, its steps and the config-only block; and no character in it
// could act on a terminal.
func checkExactInstructions(t *testing.T, img *image.Image, res *dockerfile.Result) {
	t.Helper()
	if err := dockerfile.Validate(res.Text); err != nil {
		t.Fatalf("does not parse: %v\n%s", err, res.Text)
	}
	if !safetext.Safe(res.Text) || strings.Contains(res.Text, "\r") {
		t.Errorf("control characters in the Dockerfile: %q", res.Text)
	}
	want := 1
	for _, rec := range res.Records {
		if rec.Dockerfile == "" {
			continue
		}
		nodes := parse(t, rec.Dockerfile)
		for len(nodes) > 1 && strings.EqualFold(nodes[0].Value, "ARG") && rec.Parsed.Keyword != "ARG" {
			nodes = nodes[1:]
			want++
		}
		switch {
		case len(nodes) > 1:
			t.Errorf("step %d (%q) renders %d instructions:\n%s", rec.Step, rec.CreatedBy, len(nodes), rec.Dockerfile)
		case len(nodes) == 1 && !strings.EqualFold(nodes[0].Value, rec.Parsed.Keyword) && rec.Parsed.Keyword != "":
			t.Errorf("step %d (%s) renders a %s:\n%s", rec.Step, rec.Parsed.Keyword, nodes[0].Value, rec.Dockerfile)
		}
		want += len(nodes)
	}
	all := parse(t, res.Text)
	if i := strings.Index(res.Text, "# from the image config; no history entry records these:\n"); i >= 0 {
		seen := map[string]bool{}
		for _, n := range parse(t, res.Text[i:]) {
			if seen[n.Value] && !strings.EqualFold(n.Value, "ONBUILD") {
				t.Errorf("config-only block has two %s instructions", n.Value)
			}
			seen[n.Value] = true
			want++
		}
	}
	if len(all) != want {
		t.Errorf("the Dockerfile holds %d instructions, its steps %d:\n%s", len(all), want, res.Text)
	}
	for _, n := range all {
		if strings.EqualFold(n.Value, "ONBUILD") && len(img.Config.Config.OnBuild) == 0 {
			t.Errorf("ONBUILD from nowhere: %s", n.Original)
		}
	}
}

// parse lists the instructions in text (which may hold none).
func parse(t *testing.T, text string) []*parser.Node {
	t.Helper()
	res, err := parser.Parse(strings.NewReader("FROM scratch\n" + text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return res.AST.Children[1:]
}

// TestLabelKeyLineBreakNoted: a LABEL key with a line break cannot be
// written as it is; the Dockerfile says so rather than changing the key in
// silence.
func TestLabelKeyLineBreakNoted(t *testing.T) {
	for _, img := range []*image.Image{
		hostileImage(image.ContainerConfig{Labels: map[string]string{"a\nb": "v"}},
			image.History{CreatedBy: "LABEL a\nb=v", Comment: bk, EmptyLayer: true},
			image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk}),
		hostileImage(image.ContainerConfig{Labels: map[string]string{"a\nb": "v"}, Env: []string{"K\x1b=v"}},
			image.History{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk}),
	} {
		res := dockerfile.Render(img, dockerfile.Options{})
		checkExactInstructions(t, img, res)
		if !strings.Contains(res.Text, `# NOTE: the key of a\nb holds a line break`) {
			t.Errorf("no note for the LABEL key:\n%s", res.Text)
		}
	}
}

// TestControlCharactersExactOrMarked: a script, argv or value with a
// terminal control character is printed so the shell still gets exactly
// it (JSON \u escapes, which BuildKit decodes) or, where a Dockerfile has
// no way to write it, escaped visibly under a note.
func TestControlCharactersExactOrMarked(t *testing.T) {
	script := "printf '\x1b]52;c;ZXZpbA==\x07'\r; echo \u202eevil \x7f \u009b"
	img := hostileImage(image.ContainerConfig{
		Env: []string{"E=bell\a"}, User: "root\x1b[8m", Cmd: []string{"/bin/sh", "-c", "echo \x1b[2J"},
		Labels: map[string]string{"l": "\u009b31m"},
	},
		image.History{CreatedBy: "RUN /bin/sh -c " + script + " # buildkit", Comment: bk},
		image.History{CreatedBy: "ENV E=bell\a", Comment: bk, EmptyLayer: true},
		image.History{CreatedBy: "USER root\x1b[8m", Comment: bk, EmptyLayer: true},
	)
	res := dockerfile.Render(img, dockerfile.Options{})
	checkExactInstructions(t, img, res)
	stages, _, err := dockerfile.Parse(res.Text)
	if err != nil {
		t.Fatal(err)
	}
	var run *instructions.RunCommand
	for _, c := range stages[0].Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			run = r
		}
	}
	if run == nil || strings.Join(run.CmdLine, " ") != "/bin/sh -c "+script {
		t.Errorf("RUN does not hand the shell the recorded script:\n%s", res.Text)
	}
	for _, want := range []string{`# NOTE: the value of E holds a line break or control character`, `USER (the value root\x1b[8m holds`} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("missing %q:\n%s", want, res.Text)
		}
	}
}

// TestExactMarksControlCharacters: a provenance Dockerfile is printed byte
// for byte, except that a control character is never passed through
// unmarked: it is escaped and a first comment says so.
func TestExactMarksControlCharacters(t *testing.T) {
	img := hostileImage(image.ContainerConfig{}, image.History{CreatedBy: "RUN /bin/sh -c echo hi # buildkit", Comment: bk})
	res := dockerfile.Exact(img, []byte("FROM scratch\r\nRUN echo hi \x1b]0;pwned\x07\r\n"), "from provenance")
	if !safetext.Safe(res.Text) {
		t.Errorf("raw control characters: %q", res.Text)
	}
	if !strings.Contains(res.Text, `RUN echo hi \x1b]0;pwned\x07`) || !strings.Contains(res.Text, "not byte for byte") {
		t.Errorf("control characters not marked:\n%q", res.Text)
	}
	if len(res.Notes) == 0 {
		t.Error("no note")
	}
	clean := dockerfile.Exact(img, []byte("FROM scratch\r\nRUN echo hi\r\n"), "from provenance")
	if clean.Text != "# from provenance\nFROM scratch\r\nRUN echo hi\r\n" {
		t.Errorf("CRLF Dockerfile changed: %q", clean.Text)
	}
}
