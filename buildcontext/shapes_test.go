package buildcontext_test

import (
	"archive/tar"
	"context"
	"strings"
	"testing"

	"github.com/strata-tool/strata/buildcontext"
	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// TestShapesNoLocalBuilderMakes covers what the round-trip images cannot:
// an ADD of a URL (a rebuild would need the network), a BuildKit ADD of a
// named archive it extracted, a heredoc whose file has no final newline,
// a RUN that fetches, and a kaniko COPY --from that keeps its stage. The
// layers are generated here with the history texts those builders write.
func TestShapesNoLocalBuilderMakes(t *testing.T) {
	m := func(name string, typ byte, mode int64, body string) ocitest.Member {
		return ocitest.Member{Name: name, Type: typ, Mode: mode, Body: []byte(body)}
	}
	layer := func(createdBy string, ms ...ocitest.Member) ocitest.Layer {
		l := ocitest.GzipLayer(t, ocitest.Tar(t, ms...))
		l.CreatedBy = createdBy
		return l
	}
	dir := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{
		layer("ADD https://example.com/tool.tgz /opt/tool.tgz # buildkit", m("opt/tool.tgz", tar.TypeReg, 0o600, "not really gzip")),
		layer("ADD alpine-minirootfs-3.22.3-x86_64.tar.gz / # buildkit",
			m("etc/", tar.TypeDir, 0o755, ""), m("etc/alpine-release", tar.TypeReg, 0o644, "3.22.3\n"), m("lib/", tar.TypeDir, 0o755, "")),
		layer("COPY <<EOT /etc/motd # buildkit", m("etc/motd", tar.TypeReg, 0o644, "no final newline")),
		layer("COPY <<EOT /etc/issue # buildkit", m("etc/issue", tar.TypeReg, 0o644, "hello\n$HOME stays literal\n")),
		layer("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit", m("var/lib/x", tar.TypeReg, 0o644, "x")),
		layer("COPY /out/app /usr/local/bin/app # buildkit", m("usr/local/bin/app", tar.TypeReg, 0o755, "app")),
	})
	src, err := source.Open(context.Background(), dir, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	im := layerindex.New(src, layerindex.Options{})
	recorded := "FROM scratch AS builder\nCOPY app /out/app\nFROM scratch\nCOPY --from=builder /out/app /usr/local/bin/app\n"
	plan, err := buildcontext.Recover(context.Background(), im, dockerfile.Outline(src.Image(), dockerfile.Options{}), buildcontext.Options{Provenance: recorded})
	if err != nil {
		t.Fatal(err)
	}
	text := dockerfile.Render(src.Image(), dockerfile.Options{Recovered: plan.Recovered}).Text
	if err := dockerfile.Validate(text); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, want := range []string{
		"ADD --checksum=sha256:", "https://example.com/tool.tgz /opt/tool.tgz", "fetches it again over the network",
		"COPY step-2-root/ /", "the archive itself is not recoverable",
		"COPY step-3-etc/motd /etc/motd", "not text the Dockerfile can carry inline",
		"COPY <<\"EOT\" /etc/issue\nhello\n$HOME stays literal\nEOT\n",
		"installs packages over the network",
		"COPY from-stage/out/app /usr/local/bin/app", `build stage "builder"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, text)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, "--from") {
			t.Errorf("a --from the rebuild cannot satisfy: %s", l)
		}
	}
	hows := map[int]string{}
	for _, s := range plan.Steps {
		hows[s.Step] = s.How
	}
	want := map[int]string{1: buildcontext.HowURL, 2: buildcontext.HowArchive, 3: buildcontext.HowFolder, 4: buildcontext.HowHeredoc, 6: buildcontext.HowStage}
	for step, how := range want {
		if hows[step] != how {
			t.Errorf("step %d recovered as %q, want %q", step, hows[step], how)
		}
	}
}
