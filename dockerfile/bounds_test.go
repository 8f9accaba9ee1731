package dockerfile

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/strata-tool/strata/image"
)

// allocated is the number of bytes f allocates (deterministic for a
// given input: no timing involved).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// historyShapes builds n-entry histories of each kind the renderer or the
// translator handled per entry by looking at every other entry (a 1.2 MB
// config with 16,000 entries took 3.9 GB).
var historyShapes = map[string]func(n int) *image.Image{
	"ENV with config values": func(n int) *image.Image {
		var cc image.ContainerConfig
		var h []image.History
		for i := range n {
			cc.Env = append(cc.Env, fmt.Sprintf("V%d=v", i))
			h = append(h, image.History{CreatedBy: fmt.Sprintf("ENV V%d=v", i), Comment: "buildkit.dockerfile.v0", EmptyLayer: true})
		}
		return shaped(cc, h)
	},
	"EXPOSE and VOLUME": func(n int) *image.Image {
		cc := image.ContainerConfig{ExposedPorts: map[string]struct{}{}, Volumes: map[string]struct{}{}}
		var h []image.History
		for i := range n / 2 {
			cc.ExposedPorts[fmt.Sprintf("%d/tcp", i)] = struct{}{}
			cc.Volumes[fmt.Sprintf("/v%d", i)] = struct{}{}
			h = append(h, image.History{CreatedBy: fmt.Sprintf("EXPOSE map[%d/tcp:{}]", i), Comment: "buildkit.dockerfile.v0", EmptyLayer: true},
				image.History{CreatedBy: fmt.Sprintf("VOLUME [/v%d]", i), Comment: "buildkit.dockerfile.v0", EmptyLayer: true})
		}
		return shaped(cc, h)
	},
	"SHELL then RUN with build args": func(n int) *image.Image {
		var h []image.History
		for i := range n / 2 {
			h = append(h, image.History{CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  SHELL [/bin/sh%d -c]", i), EmptyLayer: true},
				image.History{CreatedBy: fmt.Sprintf("|1 A=b /bin/sh%d -c echo hi", i), EmptyLayer: true})
		}
		return shaped(image.ContainerConfig{}, h)
	},
	"LABEL and ARG": func(n int) *image.Image {
		cc := image.ContainerConfig{Labels: map[string]string{}}
		var h []image.History
		for i := range n / 2 {
			cc.Labels[fmt.Sprintf("l%d", i)] = "v"
			h = append(h, image.History{CreatedBy: fmt.Sprintf("LABEL l%d=v", i), Comment: "buildkit.dockerfile.v0", EmptyLayer: true},
				image.History{CreatedBy: fmt.Sprintf("ARG A%d=x", i), Comment: "buildkit.dockerfile.v0", EmptyLayer: true})
		}
		return shaped(cc, h)
	},
}

func shaped(cc image.ContainerConfig, h []image.History) *image.Image {
	h = append(h, image.History{CreatedBy: "RUN /bin/sh -c echo > /x # buildkit", Comment: "buildkit.dockerfile.v0"})
	img := &image.Image{Config: image.Config{OS: "linux", Config: cc}, Layers: make([]image.Layer, 1)}
	img.SetHistory(h)
	return img
}

// TestRenderMemoryLinear: rendering four times the history allocates
// about four times the memory, not sixteen.
func TestRenderMemoryLinear(t *testing.T) {
	const n = 1000
	for name, shape := range historyShapes {
		t.Run(name, func(t *testing.T) {
			small, big := shape(n), shape(4*n)
			a := allocated(func() { Render(small, Options{}) })
			b := allocated(func() { Render(big, Options{}) })
			if ratio := float64(b) / float64(a); ratio > 6 {
				t.Errorf("%d entries allocate %d bytes, %d entries %d: ×%.1f for ×4 the history", n, a, 4*n, b, ratio)
			}
		})
	}
}

// TestRunReflowBounded: a hostile RUN — 300,000 `&&`, 300,000 nested
// brackets or command substitutions, a script past the re-flow bound — is
// printed as recorded without reaching the shell parser, which recursed
// once per operator or bracket (a stack-overflow dump) and took ~140 times
// the script's size.
func TestRunReflowBounded(t *testing.T) {
	sh := []string{"/bin/sh", "-c"}
	for name, script := range map[string]string{
		"300000 &&":                strings.Repeat("true && ", 300000) + "true",
		"300000 nested brackets":   strings.Repeat("(", 300000) + "true" + strings.Repeat(")", 300000),
		"100000 nested $(":         strings.Repeat("echo $(", 100000) + "true" + strings.Repeat(")", 100000),
		"300000 nested { }":        strings.Repeat("{ ", 300000) + "true" + strings.Repeat("; }", 300000),
		"past the re-flow bound":   strings.Repeat("apt-get install -y x && ", maxReflowBytes/20) + "true",
		"2000 && under the bounds": strings.Repeat("true && ", 1500) + "true",
	} {
		t.Run(name, func(t *testing.T) {
			var out string
			n := allocated(func() { out = runLines("RUN ", script, sh) })
			if n > uint64(40*len(script))+1<<20 {
				t.Errorf("re-flowing a %d-byte script allocated %d bytes", len(script), n)
			}
			r := &renderer{}
			r.line(out)
			stages, _, err := Parse("FROM scratch\n" + r.b.String())
			if err != nil {
				t.Fatal(err)
			}
			run, ok := stages[0].Commands[0].(*instructions.RunCommand)
			// Re-flowing changes only blanks at && boundaries.
			if !ok || len(stages[0].Commands) != 1 || normSpace(strings.Join(run.CmdLine, " ")) != normSpace(script) {
				t.Errorf("RUN does not read back as the script")
			}
			if (len(script) > maxReflowBytes || tooComplex(script)) && strings.ReplaceAll(out, "\\\n", "") != "RUN "+script {
				t.Errorf("not printed as recorded: %.80q…", out)
			}
		})
	}
}
