package diff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/image"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The parent and child of the seed experiment, as the classic builder
// records them.
func parentSteps() []step {
	return []step{
		{"/bin/sh -c #(nop) COPY file:4a1e in /bin/busybox ", []member{dir("bin/"), file("bin/busybox", "ELF…")}},
		{"/bin/busybox --install -s /bin", []member{dir("bin/"), {name: "bin/sh", typ: '2', link: "/bin/busybox", mode: 0o777}}},
		{"/bin/sh -c mkdir -p /etc/strata && echo parent > /etc/strata/role", []member{dir("etc/"), dir("etc/strata/"), file("etc/strata/role", "parent\n")}},
		{"/bin/sh -c #(nop)  LABEL com.example.role=parent", nil},
		{"/bin/sh -c #(nop)  ENV ROLE=parent", nil},
		{`/bin/sh -c #(nop)  CMD ["/bin/sh"]`, nil},
	}
}

func childSteps() []step {
	return append(parentSteps(),
		step{"/bin/sh -c echo child > /etc/strata/role && echo child > /etc/strata/child", []member{dir("etc/strata/"), file("etc/strata/role", "child\n"), file("etc/strata/child", "child\n")}},
		step{"/bin/sh -c #(nop)  LABEL com.example.role=child", nil},
		step{"/bin/sh -c #(nop)  ENV ROLE=child", nil},
	)
}

func parentConfig() image.ContainerConfig {
	return image.ContainerConfig{Env: []string{"PATH=/bin", "ROLE=parent"}, Cmd: []string{"/bin/sh"},
		Labels: map[string]string{"com.example.role": "parent"}}
}

func childConfig() image.ContainerConfig {
	c := parentConfig()
	c.Env = []string{"PATH=/bin", "ROLE=child"}
	c.Labels = map[string]string{"com.example.role": "child"}
	return c
}

func TestVerdict(t *testing.T) {
	parent := build(t, "reg/parent:1", parentConfig(), parentSteps()...)
	again := build(t, "reg/parent:1", parentConfig(), parentSteps()...)
	renamed := build(t, "reg/other:2", parentConfig(), parentSteps()...)
	// A rebuild: the same layers, but every step ran at a later time.
	rebuilt := build(t, "reg/parent:2", parentConfig(), parentSteps()...)
	later := time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
	rebuilt.img.Config.Created = &later
	for i := range rebuilt.img.History {
		rebuilt.img.History[i].Created = &later
	}
	rebuilt.img.ID = "sha256:rebuilt"
	child := build(t, "reg/child:1", childConfig(), childSteps()...)

	tests := []struct {
		name string
		a, b *memImage
		opts Options
		want Verdict
	}{
		{"same manifest", parent, again, Options{}, Identical},
		{"same config under another name", parent, renamed, Options{}, SameContent},
		{"rebuilt later, timestamps compared", parent, rebuilt, Options{}, Different},
		{"rebuilt later, timestamps ignored", parent, rebuilt, Options{IgnoreTimestamps: true}, SameContent},
		{"child of the parent", parent, child, Options{IgnoreTimestamps: true}, Different},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Images(tc.a.img, tc.b.img, tc.opts).Verdict; got != tc.want {
				t.Errorf("verdict = %s, want %s", got, tc.want)
			}
		})
	}
	// A daemon reports history times in whole seconds: not a difference.
	daemon := build(t, "docker-daemon:reg/parent:1", parentConfig(), parentSteps()...)
	for i := range daemon.img.History {
		sec := daemon.img.History[i].Created.Add(700 * time.Millisecond).Truncate(time.Second)
		parent.img.History[i].Created = ptr(daemon.img.History[i].Created.Add(700 * time.Millisecond))
		daemon.img.History[i].Created = &sec
	}
	daemon.img.ID, daemon.img.ManifestDigest = "sha256:daemon", ""
	if v := Images(parent.img, daemon.img, Options{}).Verdict; v != SameContent {
		t.Errorf("daemon's whole-second history: verdict %s, want same content", v)
	}
	// Rebuilt: the only config difference is the creation time.
	r := Images(parent.img, rebuilt.img, Options{})
	if len(r.Config) != 1 || r.Config[0].Field != "created" {
		t.Errorf("config changes of a rebuild = %+v, want only created", r.Config)
	}
}

func TestChildOfParent(t *testing.T) {
	parent := build(t, "reg/parent:1", parentConfig(), parentSteps()...)
	child := build(t, "reg/child:1", childConfig(), childSteps()...)
	r := Images(parent.img, child.img, Options{})
	if r.SharedLayers != 3 || r.SharedBy != "diff_ids" {
		t.Errorf("shared chain = %d by %q, want the parent's 3 layers by diff_ids", r.SharedLayers, r.SharedBy)
	}
	want := &Step{Step: 7, B: "RUN echo child > /etc/strata/role && echo child > /etc/strata/child"}
	if !reflect.DeepEqual(r.FirstDifferingStep, want) {
		t.Errorf("first differing step = %+v, want %+v", r.FirstDifferingStep, want)
	}
	// Only the child's own steps are listed as changes.
	var added []string
	for _, l := range r.History.Lines {
		switch l.Op {
		case "+":
			added = append(added, l.Text)
		case "-":
			t.Errorf("parent step %q shown as removed", l.Text)
		}
	}
	wantAdded := []string{
		"RUN echo child > /etc/strata/role && echo child > /etc/strata/child",
		"LABEL com.example.role=child",
		"ENV ROLE=child",
	}
	if !reflect.DeepEqual(added, wantAdded) {
		t.Errorf("added steps = %q, want %q", added, wantAdded)
	}
	golden(t, "child-of-parent.txt", r)
}

func TestOneLineChangeInTheMiddle(t *testing.T) {
	steps := func(env, copyHash, body string) []step {
		return []step{
			{"COPY a.txt /a.txt # buildkit", []member{file("a.txt", "a")}},
			{"ENV V=" + env, nil},
			{"/bin/sh -c #(nop) COPY file:" + copyHash + " in /b.txt ", []member{file("b.txt", body)}},
			{"COPY c.txt /c.txt # buildkit", []member{file("c.txt", "c")}},
		}
	}
	tests := []struct {
		name       string
		a, b       []step
		wantStep   int
		wantShared int
		wantLines  string
	}{
		{"ENV changed", steps("1", "bb", "b"), steps("2", "bb", "b"), 2, 3,
			"  COPY a.txt /a.txt|- ENV V=1|+ ENV V=2|  COPY file:bb /b.txt|  COPY c.txt /c.txt"},
		// The same COPY instruction, of changed content: one step whose
		// layer differs, not a removed and an added step.
		{"COPY of a changed file", steps("1", "b1", "b"), steps("1", "b2", "B!"), 3, 1,
			"  COPY a.txt /a.txt|  ENV V=1|~ COPY file:b1 /b.txt (B: COPY file:b2 /b.txt)|  COPY c.txt /c.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, "a", image.ContainerConfig{}, tc.a...)
			b := build(t, "b", image.ContainerConfig{}, tc.b...)
			r := Images(a.img, b.img, Options{})
			if r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != tc.wantStep {
				t.Errorf("first differing step = %+v, want %d", r.FirstDifferingStep, tc.wantStep)
			}
			if r.SharedLayers != tc.wantShared {
				t.Errorf("shared layers = %d, want %d", r.SharedLayers, tc.wantShared)
			}
			var got []string
			for _, l := range r.History.Lines {
				op := l.Op
				if l.LayerDiffers {
					op = "~"
				}
				s := op + " " + l.Text
				if l.TextB != "" {
					s += " (B: " + l.TextB + ")"
				}
				got = append(got, s)
			}
			if strings.Join(got, "|") != tc.wantLines {
				t.Errorf("history lines:\n%s\nwant:\n%s", strings.Join(got, "|"), tc.wantLines)
			}
			if r.Verdict != Different {
				t.Errorf("verdict = %s", r.Verdict)
			}
		})
	}
}

func TestConfigChanges(t *testing.T) {
	a := build(t, "a", image.ContainerConfig{
		Env: []string{"PATH=/bin", "GONE=1"}, Entrypoint: []string{"/init"}, User: "root",
		ExposedPorts: map[string]struct{}{"80/tcp": {}}, Volumes: map[string]struct{}{"/data": {}},
		StopSignal: "SIGTERM", Healthcheck: &image.Healthcheck{Test: []string{"CMD", "true"}, Retries: 3},
	}, step{"COPY x /x", []member{file("x", "x")}})
	b := build(t, "b", image.ContainerConfig{
		Env: []string{"PATH=/usr/bin:/bin", "NEW=2"}, Cmd: []string{"serve"}, User: "app", WorkingDir: "/srv",
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "443/tcp": {}}, StopSignal: "SIGQUIT",
	}, step{"COPY x /x", []member{file("x", "x")}})
	b.img.Config.Author = "someone"
	b.img.Platform = image.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	r := Images(a.img, b.img, Options{IgnoreTimestamps: true})
	var got []string
	for _, c := range r.Config {
		got = append(got, c.Field+" "+c.Key+": "+value(c.A)+" → "+value(c.B))
	}
	want := []string{
		`env GONE: "1" → (unset)`,
		`env NEW: (unset) → "2"`,
		`env PATH: "/bin" → "/usr/bin:/bin"`,
		`entrypoint : "[\"/init\"]" → (unset)`,
		`cmd : (unset) → "[\"serve\"]"`,
		`user : "root" → "app"`,
		`workdir : (unset) → "/srv"`,
		`port 443/tcp: (unset) → ""`,
		`volume /data: "" → (unset)`,
		`healthcheck : "{\"Test\":[\"CMD\",\"true\"],\"Retries\":3}" → (unset)`,
		`stopsignal : "SIGTERM" → "SIGQUIT"`,
		`platform : "linux/amd64" → "linux/arm64/v8"`,
		`author : (unset) → "someone"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("config changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestManifestChanges(t *testing.T) {
	a := build(t, "reg/x:1", image.ContainerConfig{}, step{"COPY x /x", []member{file("x", "x")}})
	b := build(t, "x.tar", image.ContainerConfig{}, step{"COPY x /x", []member{file("x", "x")}})
	b.img.Transport = "docker-archive"
	b.img.ManifestMediaType = image.MediaTypeDockerManifest
	b.img.Layers[0].MediaType = image.MediaTypeDockerLayer
	b.img.Annotations = map[string]string{"org.opencontainers.image.ref.name": "1"}
	a.img.Index = &image.Index{MediaType: image.MediaTypeOCIIndex, Manifests: []image.Descriptor{
		{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}},
		{Platform: &image.Platform{OS: "linux", Architecture: "arm64"}},
	}}
	b.img.Index = &image.Index{MediaType: image.MediaTypeOCIIndex, Manifests: []image.Descriptor{
		{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}},
	}}
	r := Images(a.img, b.img, Options{})
	if r.Verdict != SameContent {
		t.Errorf("verdict = %s, want same content (same config and layers)", r.Verdict)
	}
	var got []string
	for _, c := range r.Manifest {
		if c.Field == "manifest digest" {
			continue // derived from the reference in these tests
		}
		got = append(got, c.Field+" "+c.Key+": "+value(c.A)+" → "+value(c.B))
	}
	want := []string{
		`reference : "reg/x:1" → "x.tar"`,
		`transport : "test" → "docker-archive"`,
		`manifest media type : "application/vnd.oci.image.manifest.v1+json" → "application/vnd.docker.distribution.manifest.v2+json"`,
		`layer compression : "uncompressed" → "gzip"`,
		`annotation org.opencontainers.image.ref.name: (unset) → "1"`,
		`index platform linux/arm64: "present" → (unset)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("manifest changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// golden compares r's text rendering with testdata/name.
func golden(t *testing.T, name string, r *Result) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteText(&buf, false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it, then read it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("text output differs from %s:\n%s", path, buf.String())
	}
}

func ptr[T any](v T) *T { return &v }

// The same Dockerfile built by the classic builder and by BuildKit: COPY
// sources survive only as content hashes in one and as names in the other,
// yet the steps line up, and the one whose content differs says so.
func TestHistoryAlignsAcrossBuilders(t *testing.T) {
	classic := build(t, "reg/app:classic", image.ContainerConfig{},
		step{"/bin/sh -c #(nop) COPY file:4b825dc642cb6eb9a060e54bf8d69288fbee4904 in /app/a.txt ", []member{file("app/a.txt", "a")}},
		step{"/bin/sh -c #(nop)  ENV MODE=prod", nil},
		step{"/bin/sh -c #(nop) COPY file:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432 in /app/b.txt ", []member{file("app/b.txt", "b1")}},
	)
	buildkit := build(t, "reg/app:buildkit", image.ContainerConfig{},
		step{"COPY a.txt /app/a.txt # buildkit", []member{file("app/a.txt", "a")}},
		step{"ENV MODE=prod", nil},
		step{"COPY b.txt /app/b.txt # buildkit", []member{file("app/b.txt", "b2")}},
	)
	r := Images(classic.img, buildkit.img, Options{})
	var ops []string
	for _, l := range r.History.Lines {
		ops = append(ops, l.Op)
		if l.Op == " " && l.StepA == 3 && !l.LayerDiffers {
			t.Errorf("changed COPY not marked as a differing layer: %+v", l)
		}
	}
	if strings.Join(ops, "") != "   " {
		t.Errorf("history ops %q, want three aligned steps: %+v", strings.Join(ops, ""), r.History.Lines)
	}
	if r.SharedLayers != 1 {
		t.Errorf("shared layers %d, want 1", r.SharedLayers)
	}
}
