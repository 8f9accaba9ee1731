package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Controls is a string holding every kind of terminal control an image can
// carry: ESC sequences (clear screen, cursor up and erase line, window
// title, OSC 52 clipboard write), BEL, backspace, a bare CR, DEL, a C1 CSI,
// and bidi overrides and isolates.
const Controls = "\x1b[2J\x1b[1A\x1b[2K\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07 bell\a back\b\b cr\rover del\x7f c1\u009b31m rlo\u202edesrever\u202c iso\u2066x\u2069"

const bk = "buildkit.dockerfile.v0"

// Case is one hostile input of the corpus.
type Case struct {
	Name string
	// Image is written as an OCI layout, or as a docker save archive
	// when Archive is set.
	Image   Image
	Archive bool
	// Steps is how many history entries the image holds.
	Steps int
}

// Write writes c under dir and returns the reference strata opens it by.
func (c Case) Write(dir string) (string, error) {
	if c.Archive {
		p := filepath.Join(dir, c.Name+".tar")
		return p, WriteArchive(p, c.Image)
	}
	p := filepath.Join(dir, c.Name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", err
	}
	return p, WriteLayout(p, c.Image)
}

func build(name string, s Spec, layers ...[]byte) Case {
	return Case{Name: name, Image: Image{Config: ConfigFrom(s, layers), Layers: layers}, Steps: len(s.History)}
}

// Metadata returns the metadata-level hostile inputs: control characters
// everywhere a config and history can hold text, instruction-smuggling
// vectors, a 16,000-entry history, huge and deeply nested RUN scripts.
// Layer-level inputs are in Layers.
func Metadata() []Case {
	small := Tar(File{Name: "etc/", Dir: true}, File{Name: "etc/x", Body: "x\n"})
	var out []Case

	ctl := Spec{
		Author: "mallory" + Controls, User: "root" + Controls, WorkingDir: "/w" + Controls, StopSignal: "SIGTERM" + Controls,
		Env:        []string{"E=" + Controls, "K" + Controls + "=v"},
		Labels:     map[string]string{"l": Controls, "k" + Controls: "v", "org.opencontainers.image.base.name": "alpine" + Controls},
		Cmd:        []string{"/bin/sh", "-c", "echo " + Controls},
		Entrypoint: []string{"/e" + Controls}, Volumes: []string{"/v" + Controls}, ExposedPorts: []string{"80/tcp", "81" + Controls},
		Healthcheck: []string{"CMD-SHELL", "true " + Controls}, OnBuild: []string{"RUN " + Controls},
		History: []Entry{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:" + strings.Repeat("a", 64) + " in / "},
			{CreatedBy: "RUN /bin/sh -c echo " + Controls + " # buildkit", Comment: bk},
			{CreatedBy: "ENV E=" + Controls, Comment: bk, EmptyLayer: true},
			{CreatedBy: "LABEL l=" + Controls, Comment: bk + Controls, Author: Controls, EmptyLayer: true},
			{CreatedBy: "USER root" + Controls, Comment: bk, EmptyLayer: true},
			{CreatedBy: "COPY a" + Controls + " /b # buildkit", Comment: bk},
			{CreatedBy: Controls, EmptyLayer: true},
		},
	}
	c := build("control-characters", ctl, small, small, small)
	c.Image.RefName = "ref" + Controls
	c.Image.Annotations = map[string]string{"org.opencontainers.image.base.name": "alpine" + Controls}
	out = append(out, c)
	a := build("control-characters-archive", ctl, small, small, small)
	a.Archive, a.Image.RepoTags = true, []string{"evil" + Controls + ":latest"}
	out = append(out, a)

	out = append(out,
		build("smuggle-buildkit", Spec{
			ExposedPorts: []string{"8080/tcp\nUSER root"}, Labels: map[string]string{"a\nUSER root": "v"},
			Cmd: []string{"/bin/sh", "-c", "a\nUSER root"}, WorkingDir: "/w\nUSER root", OnBuild: []string{"RUN x\nUSER root"},
			History: []Entry{
				{CreatedBy: "COPY --chown=1:1\ta\tb\nUSER\troot /a /b # buildkit", Comment: bk},
				{CreatedBy: `COPY ["<<EOF", "x\nEOF\nUSER root\nRUN <<EOF", "/d"] # buildkit`, Comment: bk},
				{CreatedBy: "EXPOSE map[]", Comment: bk, EmptyLayer: true},
				{CreatedBy: "LABEL a\nUSER root=v", Comment: bk, EmptyLayer: true},
			}}, small, small),
		build("smuggle-buildah", Spec{History: []Entry{
			{CreatedBy: "/bin/sh -c --mount=type=cache,target=/x\tls\nUSER\troot echo hi", Comment: "FROM docker.io/library/alpine:3.20"},
			{CreatedBy: "/bin/sh -c #(nop) HEALTHCHECK --interval=5s CMD true\nUSER root", Comment: "FROM 8422f1c64edb", EmptyLayer: true},
		}}, small),
		build("smuggle-kaniko", Spec{History: []Entry{
			{CreatedBy: "RUN --network=none\tls\nUSER\troot echo hi", Author: "kaniko"},
			{CreatedBy: "ADD --chmod=644\ta\tb\nUSER\troot /a /b", Author: "kaniko"},
		}}, small, small),
	)
	out = append(out, longHistory(small))
	// Long lines of the shapes the history reader once scanned again
	// from every blank: a key search, buildah's |key=value suffixes, a
	// build-arg prefix with no shell after it.
	out = append(out, build("history-long-lines", Spec{
		Env: []string{"k=v", "y=z"},
		History: []Entry{
			{CreatedBy: "ENV k=v " + strings.Repeat("x ", 300000) + "y=z", Comment: bk, EmptyLayer: true},
			{CreatedBy: "/bin/sh -c #(nop) ENV a=b" + strings.Repeat("|a=1", 100000), Comment: "FROM alpine", EmptyLayer: true},
			{CreatedBy: "|1 " + strings.Repeat("-x /bin/sh -c ", 40000), EmptyLayer: true},
			{CreatedBy: "|1 " + strings.Repeat("x ", 300000), EmptyLayer: true},
			{CreatedBy: "RUN /bin/sh -c true # buildkit", Comment: bk},
		}}, small))
	// A 12 MB script: the config stays under the 16 MiB metadata limit.
	out = append(out, build("run-12mb", Spec{History: []Entry{
		{CreatedBy: "RUN /bin/sh -c " + strings.Repeat("echo aaaaaaaaaaaaaaaaaaaaaaaaa; ", 12<<20/30) + " # buildkit", Comment: bk},
	}}, small))
	for _, s := range []struct{ name, script string }{
		{"run-300000-and", strings.Repeat("true && ", 300000) + "true"},
		{"run-300000-brackets", strings.Repeat("(", 300000) + "true" + strings.Repeat(")", 300000)},
		{"run-300000-substitutions", strings.Repeat("echo $(", 100000) + "true" + strings.Repeat(")", 100000)},
		{"run-1mb-multiline", strings.Repeat("echo line && \\\n", 1<<20/16)},
	} {
		out = append(out, build(s.name, Spec{History: []Entry{
			{CreatedBy: "RUN /bin/sh -c " + s.script + " # buildkit", Comment: bk},
			{CreatedBy: "|1 A=b /bin/sh -c " + s.script},
		}}, small, small))
	}
	return out
}

// longHistory is 16,000 entries of every kind the renderer treats on its
// own (ENV and LABEL with config values, ARG used by a RUN, EXPOSE,
// VOLUME, SHELL, long RUNs to re-flow): whatever is quadratic in the
// history's length shows.
func longHistory(layer []byte) Case {
	var s Spec
	s.Labels = map[string]string{}
	for i := 0; len(s.History) < 16000-1; i++ {
		s.Env = append(s.Env, fmt.Sprintf("V%d=v", i))
		s.Labels[fmt.Sprintf("l%d", i)] = "v"
		s.ExposedPorts = append(s.ExposedPorts, fmt.Sprintf("%d/tcp", i%65536))
		s.Volumes = append(s.Volumes, fmt.Sprintf("/v%d", i))
		s.History = append(s.History,
			Entry{CreatedBy: fmt.Sprintf("ENV V%d=v", i), Comment: bk, EmptyLayer: true},
			Entry{CreatedBy: fmt.Sprintf("LABEL l%d=v", i), Comment: bk, EmptyLayer: true},
			Entry{CreatedBy: fmt.Sprintf("ARG A%d=x", i), Comment: bk, EmptyLayer: true},
			Entry{CreatedBy: fmt.Sprintf("RUN |1 A%d=y /bin/sh -c apt-get update && apt-get install -y a b c d && rm -rf /var/lib/apt/lists/* && echo %d # buildkit", i, i), Comment: bk, EmptyLayer: true},
			Entry{CreatedBy: fmt.Sprintf("EXPOSE map[%d/tcp:{}]", i%65536), Comment: bk, EmptyLayer: true},
			Entry{CreatedBy: fmt.Sprintf("VOLUME [/v%d]", i), Comment: bk, EmptyLayer: true},
			Entry{CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  SHELL [/bin/sh%d -c]", i), EmptyLayer: true},
		)
	}
	s.History = append(s.History[:16000-1], Entry{CreatedBy: "RUN /bin/sh -c echo > /etc/x # buildkit", Comment: bk})
	return build("history-16000", s, layer)
}

// Layers returns layer-level hostile inputs, each an image whose top layer
// is hostile, to diff --files against Base: a sparse entry claiming
// 9×10^18 bytes, degenerate whiteouts, and paths with control characters.
func Layers() []Case {
	base := Tar(File{Name: "a/", Dir: true}, File{Name: "a/f", Body: "base\n"})
	mk := func(name string, top []byte) Case {
		return build(name, Spec{History: []Entry{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:" + strings.Repeat("b", 64) + " in / "},
			{CreatedBy: "RUN /bin/sh -c make-it # buildkit", Comment: bk},
		}}, base, top)
	}
	return []Case{
		mk("layer-sparse-9e18", SparseTar("a/huge", []byte("data"), 9e18)),
		mk("layer-whiteout-empty-name", Tar(File{Name: "a/.wh.", Body: ""})),
		mk("layer-whiteout-dot", Tar(File{Name: "a/.wh..", Body: ""})),
		mk("layer-whiteout-dotdot", Tar(File{Name: "a/.wh...", Body: ""})),
		mk("layer-opaque-as-dir", Tar(File{Name: "a/.wh..wh..opq/", Dir: true}, File{Name: "a/g", Body: "g"})),
		mk("layer-control-paths", Tar(File{Name: "a/" + Controls, Body: "x"}, File{Name: "a/new\nline", Body: "y"}, File{Name: "a/bad\xff\xfe", Body: "z"})),
	}
}

// Base is the image the layer cases are compared with: their first layer
// and nothing else.
func Base() Case {
	base := Tar(File{Name: "a/", Dir: true}, File{Name: "a/f", Body: "base\n"})
	return build("layer-base", Spec{History: []Entry{
		{CreatedBy: "/bin/sh -c #(nop) ADD file:" + strings.Repeat("b", 64) + " in / "},
	}}, base)
}
