package dockerfile_test

import (
	"strings"
	"testing"

	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
)

// FuzzRender feeds arbitrary created_by/comment/author text and config
// values through the history translator and the renderer: nothing may
// panic, the output must always parse, each step's text must hold only
// its own instruction, and no control character may be printed raw.
func FuzzRender(f *testing.F) {
	seeds := []string{
		"/bin/sh -c #(nop)  ENV A=b c",
		"|2 A=x y B=z /bin/sh -c echo $A",
		"RUN |1 A=b ls # buildkit",
		"RUN /bin/sh -c a\nb\n # buildkit",
		"/bin/sh -c #(nop) COPY --chown=1:1file:ab in /x ",
		`/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "x"] "1s" "0s" "0s" '\x00'}`,
		"EXPOSE &{[{{103 0} {103 0}}] <nil>}",
		"/bin/sh -c #(nop) HEALTHCHECK NONE|force-mtime=10",
		`/bin/sh -c ["/bin/busybox", "--install"]`,
		"COPY <<EOT /x # buildkit",
		"ONBUILD RUN x",
		"SHELL [/bin/bash -c]",
		"RUN /bin/sh -c echo \\ # buildkit",
		"# debian.sh --arch 'amd64'",
		"",
		"COPY --chown=1:1\ta\tb\nUSER\troot /a /b # buildkit",
		"/bin/sh -c #(nop) HEALTHCHECK --interval=5s CMD true\nUSER root",
		"RUN /bin/sh -c echo \x1b]52;c;eA==\x07 # buildkit",
	}
	for _, s := range seeds {
		f.Add(s, "buildkit.dockerfile.v0", "", false, "v a\"l$ue", "echo hi", "80/tcp")
		f.Add(s, "", "kaniko", true, "", "", "")
	}
	f.Fuzz(func(t *testing.T, createdBy, comment, author string, empty bool, envVal, cmd, port string) {
		cfg := image.Config{
			OS: "linux",
			Config: image.ContainerConfig{
				Env:          []string{"A=" + envVal, "K" + strings.Map(keyRune, envVal) + "=x"},
				Labels:       map[string]string{"l" + strings.Map(keyRune, cmd): envVal},
				Cmd:          []string{"/bin/sh", "-c", cmd},
				Entrypoint:   []string{cmd},
				ExposedPorts: map[string]struct{}{port: {}},
				Volumes:      map[string]struct{}{envVal: {}},
				User:         cmd,
				WorkingDir:   envVal,
				StopSignal:   cmd,
				Shell:        []string{"/bin/sh", cmd},
				OnBuild:      []string{cmd, createdBy},
				Healthcheck:  &image.Healthcheck{Test: []string{"CMD-SHELL", cmd}},
			},
		}
		img := &image.Image{Config: cfg, Layers: make([]image.Layer, 3)}
		img.SetHistory([]image.History{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:aa in / "},
			{CreatedBy: createdBy, Comment: comment, Author: author, EmptyLayer: empty},
			{CreatedBy: createdBy + " # buildkit", Comment: comment},
			{CreatedBy: "/bin/sh -c #(nop)  " + createdBy, EmptyLayer: true},
		})
		res := dockerfile.Render(img, dockerfile.Options{Layers: true})
		if err := dockerfile.Validate(res.Text); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, res.Text)
		}
		checkExactInstructions(t, img, res)
	})
}

// keyRune keeps fuzzed key material to characters a config key may hold.
func keyRune(r rune) rune {
	if r == '=' || r < ' ' {
		return -1
	}
	return r
}
