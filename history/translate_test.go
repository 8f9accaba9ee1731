package history

import (
	"reflect"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
)

// Real created_by strings, each from the source named beside it (research
// doc §4, repo-info histories, RECIPES.md quirks seen on these machines).
func TestTranslate(t *testing.T) {
	cfg := image.Config{Config: image.ContainerConfig{
		Env:    []string{"PATH=/usr/local/bin:/usr/bin", "GOSU_VERSION=1.14", "PHPIZE_DEPS=autoconf \t\tdpkg-dev dpkg", "LANG=C.UTF-8"},
		Labels: map[string]string{"maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>"},
	}}
	tests := []struct {
		name    string
		entry   image.HistoryEntry
		prior   []string // entries translated first (SHELL, ARG)
		builder Builder
		kw      string
		check   func(t *testing.T, in Instruction)
	}{
		{name: "classic RUN (redis)", entry: h("/bin/sh -c groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis"),
			builder: Classic, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.Args, "groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis")
				eq(t, in.Shell, []string{"/bin/sh", "-c"})
				eq(t, in.ExecForm, false)
			}},
		{name: "classic ENV two spaces", entry: h("/bin/sh -c #(nop)  ENV GOSU_VERSION=1.14"), builder: Classic, kw: "ENV",
			check: func(t *testing.T, in Instruction) { eq(t, in.Pairs, []KV{{Key: "GOSU_VERSION", Value: "1.14"}}) }},
		{name: "classic LABEL unquoted (nginx)", entry: h("/bin/sh -c #(nop)  LABEL maintainer=NGINX Docker Maintainers <docker-maint@nginx.com>"),
			builder: Classic, kw: "LABEL", check: func(t *testing.T, in Instruction) {
				eq(t, in.Pairs, []KV{{Key: "maintainer", Value: "NGINX Docker Maintainers <docker-maint@nginx.com>"}})
			}},
		{name: "classic CMD Go-quoted", entry: h(`/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]`), builder: Classic, kw: "CMD",
			check: func(t *testing.T, in Instruction) { eq(t, in.Argv, []string{"nginx", "-g", "daemon off;"}) }},
		{name: "classic VOLUME %v", entry: h("/bin/sh -c #(nop)  VOLUME [/var/lib/postgresql/data]"), builder: Classic, kw: "VOLUME",
			check: func(t *testing.T, in Instruction) { eq(t, in.Argv, []string{"/var/lib/postgresql/data"}) }},
		{name: "classic WORKDIR one space", entry: h("/bin/sh -c #(nop) WORKDIR /data"), builder: Classic, kw: "WORKDIR",
			check: func(t *testing.T, in Instruction) { eq(t, in.Args, "/data") }},
		{name: "classic COPY hash, trailing space", entry: h("/bin/sh -c #(nop) COPY file:e873a0e3c13001b5e1c63f9dbe60cc65722af522671787f68b8e8cbcae7d02ac in /usr/local/bin/ "),
			builder: Classic, kw: "COPY", check: func(t *testing.T, in Instruction) {
				eq(t, in.ContentHash, "file:e873a0e3c13001b5e1c63f9dbe60cc65722af522671787f68b8e8cbcae7d02ac")
				eq(t, in.Dest, "/usr/local/bin/")
				eq(t, in.Confidence, Partial)
			}},
		{name: "classic COPY --chown glued (RECIPES)", entry: h("/bin/sh -c #(nop) COPY --chown=1000:1000file:0123abcd in /x "),
			builder: Classic, kw: "COPY", check: func(t *testing.T, in Instruction) {
				eq(t, in.Flags, []string{"--chown=1000:1000"})
				eq(t, in.ContentHash, "file:0123abcd")
				eq(t, in.Dest, "/x")
			}},
		{name: "classic RUN with build args, values with spaces", entry: h("|2 TEST_STRING_1=Test string one TEST_STRING_2=two /bin/sh -c echo $TEST_STRING_1"),
			builder: Classic, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.BuildArgs, []KV{{Key: "TEST_STRING_1", Value: "Test string one"}, {Key: "TEST_STRING_2", Value: "two"}})
				eq(t, in.Args, "echo $TEST_STRING_1")
			}},
		{name: "classic RUN build arg value holding k=v, ARG names anchor", prior: []string{"/bin/sh -c #(nop)  ARG A", "/bin/sh -c #(nop)  ARG B"},
			entry: h("|2 A=x C=d B=y /bin/sh -c true"), builder: Classic, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.BuildArgs, []KV{{Key: "A", Value: "x C=d"}, {Key: "B", Value: "y"}})
			}},
		{name: "classic custom SHELL then HEALTHCHECK %q", prior: []string{"/bin/sh -c #(nop)  SHELL [/bin/bash -o pipefail -c]"},
			entry:   h(`/bin/bash -o pipefail -c #(nop)  HEALTHCHECK &{["CMD" "docker-healthcheck"] "0s" "0s" "0s" '\x00'}`),
			builder: Classic, kw: "HEALTHCHECK", check: func(t *testing.T, in Instruction) {
				eq(t, in.Argv, []string{"CMD", "docker-healthcheck"})
				eq(t, in.Shell, []string{"/bin/bash", "-o", "pipefail", "-c"})
			}},
		{name: "classic RUN after custom SHELL", prior: []string{"/bin/sh -c #(nop)  SHELL [/bin/bash -o pipefail -c]"},
			entry: h("/bin/bash -o pipefail -c curl x | tar -x"), builder: Classic, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.Args, "curl x | tar -x")
				eq(t, in.Shell, []string{"/bin/bash", "-o", "pipefail", "-c"})
			}},
		{name: "classic exec-form RUN is a labelled guess", prior: []string{"/bin/sh -c #(nop)  ENV A=b"},
			entry: image.HistoryEntry{History: image.History{CreatedBy: "/bin/busybox --install -s /bin"}, Layer: 0}, builder: Classic, kw: "RUN",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.ExecForm, true)
				eq(t, in.Argv, []string{"/bin/busybox", "--install", "-s", "/bin"})
				eq(t, in.Confidence, Guess)
			}},
		{name: "old engine USER [x]", entry: h("/bin/sh -c #(nop)  USER [gg]"), builder: Classic, kw: "USER",
			check: func(t *testing.T, in Instruction) { eq(t, in.Args, "gg") }},
		{name: "windows classic", entry: h(`cmd /S /C #(nop) WORKDIR C:\nats-streaming-server`), builder: Classic, kw: "WORKDIR",
			check: func(t *testing.T, in Instruction) { eq(t, in.Args, `C:\nats-streaming-server`) }},
		{name: "windows base layer", entry: h("Apply image 10.0.17763.5696"), builder: BaseRootFS},

		{name: "buildkit RUN", entry: bk("RUN /bin/sh -c echo \"goodbye\" > /goodbye.txt # buildkit"), builder: BuildKit, kw: "RUN",
			check: func(t *testing.T, in Instruction) { eq(t, in.Args, `echo "goodbye" > /goodbye.txt`) }},
		{name: "buildkit RUN build args", entry: bk("RUN |2 ARCH=amd64 INSTALL_VER=5.9 /bin/sh -c /install.sh && rm x # buildkit"),
			builder: BuildKit, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.BuildArgs, []KV{{Key: "ARCH", Value: "amd64"}, {Key: "INSTALL_VER", Value: "5.9"}})
				eq(t, in.Args, "/install.sh && rm x")
			}},
		{name: "buildkit RUN build arg with newline", entry: bk("RUN |2 TEST_STRING_1=Test string one TEST_STRING_2=Test\nstring two /bin/sh -c env # buildkit"),
			builder: BuildKit, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.BuildArgs, []KV{{Key: "TEST_STRING_1", Value: "Test string one"}, {Key: "TEST_STRING_2", Value: "Test\nstring two"}})
			}},
		{name: "buildkit exec RUN", entry: bk("RUN ls # buildkit"), builder: BuildKit, kw: "RUN",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.ExecForm, true)
				eq(t, in.Argv, []string{"ls"})
			}},
		{name: "buildkit heredoc shebang", entry: bk("RUN /bin/sh -c /dev/pipes/EOF # buildkit"), builder: BuildKit, kw: "RUN",
			check: func(t *testing.T, in Instruction) { eq(t, in.Unparsed, true) }},
		{name: "buildkit COPY absolute source (deislabs multi-stage)", entry: bk("COPY /builder2Bar.txt /builder2Bar.txt # buildkit"),
			builder: BuildKit, kw: "COPY", check: func(t *testing.T, in Instruction) {
				eq(t, in.Source, []string{"/builder2Bar.txt"})
				eq(t, in.Dest, "/builder2Bar.txt")
				eq(t, in.Note != "", true)
			}},
		{name: "buildkit COPY --chown", entry: bk("COPY --chown=node:node /app/node_modules ./n # buildkit"), builder: BuildKit, kw: "COPY",
			check: func(t *testing.T, in Instruction) { eq(t, in.Flags, []string{"--chown=node:node"}) }},
		{name: "buildkit ADD alpine rootfs", entry: bk("ADD alpine-minirootfs-3.22.3-armhf.tar.gz / # buildkit"), builder: BuildKit, kw: "ADD",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.Source, []string{"alpine-minirootfs-3.22.3-armhf.tar.gz"})
			}},
		{name: "buildkit ENV with tabs (php)", entry: bk("ENV PHPIZE_DEPS=autoconf \t\tdpkg-dev dpkg"), builder: BuildKit, kw: "ENV",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.Pairs, []KV{{Key: "PHPIZE_DEPS", Value: "autoconf \t\tdpkg-dev dpkg"}})
			}},
		{name: "buildkit EXPOSE map (0.8)", entry: bk("EXPOSE map[53/udp:{} 8080/tcp:{}]"), builder: BuildKit, kw: "EXPOSE",
			check: func(t *testing.T, in Instruction) { eq(t, in.Argv, []string{"53/udp", "8080/tcp"}) }},
		{name: "buildkit EXPOSE list (1.19+)", entry: bk("EXPOSE [1234/udp 2375/tcp 5000/tcp]"), builder: BuildKit, kw: "EXPOSE",
			check: func(t *testing.T, in Instruction) { eq(t, in.Argv, []string{"1234/udp", "2375/tcp", "5000/tcp"}) }},
		{name: "buildkit EXPOSE struct dump (1.18)", entry: bk("EXPOSE &{[{{103 0} {103 0}}] <nil>}"), builder: BuildKit, kw: "EXPOSE",
			check: func(t *testing.T, in Instruction) { eq(t, in.Unparsed, true) }},
		{name: "buildkit HEALTHCHECK %+v", entry: bk("HEALTHCHECK {Test:[CMD-SHELL curl -fsS https://x] Interval:30s Timeout:3s StartPeriod:0s StartInterval:0s Retries:3}"),
			builder: BuildKit, kw: "HEALTHCHECK", check: func(t *testing.T, in Instruction) {
				eq(t, in.Unparsed, false)
				eq(t, in.Argv, []string{"CMD-SHELL", "curl -fsS https://x"})
				eq(t, in.Line(), "HEALTHCHECK CMD curl -fsS https://x")
			}},
		{name: "buildkit HEALTHCHECK %+v exec form (real, testdata/builders/single)", entry: bk("HEALTHCHECK {Test:[CMD /bin/true] Interval:30s Timeout:5s StartPeriod:10s StartInterval:0s Retries:3}"),
			builder: BuildKit, kw: "HEALTHCHECK", check: func(t *testing.T, in Instruction) {
				eq(t, in.Argv, []string{"CMD", "/bin/true"})
				eq(t, in.Line(), `HEALTHCHECK CMD ["/bin/true"]`)
			}},
		{name: "buildkit shell-form CMD", entry: bk(`CMD ["/bin/sh" "-c" "gunicorn --bind 0.0.0.0"]`), builder: BuildKit, kw: "CMD",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.Argv, []string{"/bin/sh", "-c", "gunicorn --bind 0.0.0.0"})
			}},
		{name: "buildkit WORKDIR no suffix", entry: bk("WORKDIR /var/www/html"), builder: BuildKit, kw: "WORKDIR"},
		{name: "buildkit exporter filler", entry: image.HistoryEntry{History: image.History{CreatedBy: "copy /a", Comment: "buildkit.exporter.image.v0"}}, builder: Filler},

		{name: "buildah HEALTHCHECK NONE with metadata (trivy#9485)", entry: h("/bin/sh -c #(nop) HEALTHCHECK NONE|force-mtime=10"),
			builder: Buildah, kw: "HEALTHCHECK", check: func(t *testing.T, in Instruction) {
				eq(t, in.Metadata, []string{"force-mtime=10"})
				eq(t, in.Argv, []string{"NONE"})
			}},
		{name: "buildah COPY dir with metadata (trivy#8952)", entry: h("/bin/sh -c #(nop) COPY dir:55f4aa in ./files |inheritLabels=false"),
			builder: Buildah, kw: "COPY", check: func(t *testing.T, in Instruction) {
				eq(t, in.ContentHash, "dir:55f4aa")
				eq(t, in.Dest, "./files")
			}},
		{name: "buildah ARG names, FROM comment", entry: image.HistoryEntry{History: image.History{CreatedBy: "/bin/sh -c #(nop) ARG yq_version", Comment: "FROM registry.fedoraproject.org/fedora-minimal:40", EmptyLayer: true}},
			builder: Buildah, kw: "ARG", check: func(t *testing.T, in Instruction) { eq(t, in.Pairs, []KV{{Key: "yq_version", NoValue: true}}) }},
		{name: "buildah exec RUN (RECIPES)", entry: h(`/bin/sh -c ["/bin/busybox", "--install", "-s", "/bin"]`), builder: Buildah, kw: "RUN",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.ExecForm, true)
				eq(t, in.Argv, []string{"/bin/busybox", "--install", "-s", "/bin"})
			}},
		{name: "buildah RUN keeps --mount", entry: h("/bin/sh -c --mount=type=cache,target=/root/.cache go build ./..."), builder: Buildah, kw: "RUN",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.Flags, []string{"--mount=type=cache,target=/root/.cache"})
				eq(t, in.Args, "go build ./...")
			}},
		{name: "buildah JSON CMD", entry: h(`/bin/sh -c #(nop) CMD ["/bin/sh", "-c", "echo hi"]`), builder: Buildah, kw: "CMD",
			check: func(t *testing.T, in Instruction) { eq(t, in.Argv, []string{"/bin/sh", "-c", "echo hi"}) }},

		{name: "buildah 1.28 counts words in |N (real, podman build)", entry: h(`|4 GREETING=hello SPACED=two words here /bin/sh -c ["/bin/busybox", "--install", "-s", "/bin"]`),
			builder: Buildah, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.BuildArgs, []KV{{Key: "GREETING", Value: "hello"}, {Key: "SPACED", Value: "two words here"}})
				eq(t, in.Argv, []string{"/bin/busybox", "--install", "-s", "/bin"})
			}},
		{name: "buildah HEALTHCHECK as written (real)", entry: h(`/bin/sh -c #(nop) HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/bin/true"]`),
			builder: Buildah, kw: "HEALTHCHECK", check: func(t *testing.T, in Instruction) { eq(t, in.Argv, []string{"CMD", "/bin/true"}) }},
		{name: "buildah legacy ENV form", entry: h("/bin/sh -c #(nop) ENV GOSU_VERSION 1.14"), builder: Buildah, kw: "ENV",
			check: func(t *testing.T, in Instruction) { eq(t, in.Pairs, []KV{{Key: "GOSU_VERSION", Value: "1.14"}}) }},
		{name: "classic exec RUN with build args split by values seen elsewhere (real)",
			prior: nil, entry: h("|2 GREETING=hello SPACED=two words here /bin/busybox --install -s /bin"),
			builder: Classic, kw: "RUN", check: func(t *testing.T, in Instruction) {
				eq(t, in.BuildArgs, []KV{{Key: "GREETING", Value: "hello"}, {Key: "SPACED", Value: "two words here"}})
				eq(t, in.Argv, []string{"/bin/busybox", "--install", "-s", "/bin"})
			}},
		{name: "kaniko keeps --from", entry: image.HistoryEntry{History: image.History{Author: "kaniko", CreatedBy: "COPY --from=builder /go/bin/app /app"}}, builder: Kaniko, kw: "COPY",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.Flags, []string{"--from=builder"})
				eq(t, in.Source, []string{"/go/bin/app"})
			}},
		{name: "kaniko RUN", entry: image.HistoryEntry{History: image.History{Author: "kaniko", CreatedBy: "RUN addgroup -S nonroot && adduser -S nonroot -G nonroot"}}, builder: Kaniko, kw: "RUN",
			check: func(t *testing.T, in Instruction) {
				eq(t, in.Args, "addgroup -S nonroot && adduser -S nonroot -G nonroot")
			}},
		{name: "ko", entry: image.HistoryEntry{History: image.History{Author: "ko", CreatedBy: "ko build ko://github.com/x/y", Comment: "go build output, at /ko-app/y"}}, builder: Ko},
		{name: "jib", entry: image.HistoryEntry{History: image.History{Author: "Jib", CreatedBy: "jib-maven-plugin:3.4.0", Comment: "classes"}}, builder: Jib},
		{name: "jib placeholder", entry: image.HistoryEntry{History: image.History{Comment: "auto-generated by Jib"}}, builder: Filler},
		{name: "bazel", entry: image.HistoryEntry{History: image.History{Author: "Bazel", CreatedBy: "bazel build ..."}}, builder: Bazel},
		{name: "apko", entry: image.HistoryEntry{History: image.History{Author: "apko", CreatedBy: "apko", Comment: "This is an apko single-layer image"}}, builder: Apko},
		{name: "buildpacks", entry: h("Layer: 'jre', Created by buildpack: bellsoft/buildpacks/liberica@1.1.0"), builder: Buildpacks},
		{name: "debuerreotype", entry: image.HistoryEntry{History: image.History{CreatedBy: "# debian.sh --arch 'amd64' out/ 'trixie' '@1785715200'", Comment: "debuerreotype 0.17"}}, builder: BaseRootFS},
		{name: "docker import", entry: image.HistoryEntry{History: image.History{Comment: "Imported from -"}}, builder: Import},
		{name: "squash", entry: image.HistoryEntry{History: image.History{Comment: "merge sha256:aa to sha256:bb"}}, builder: Squash},
		{name: "free text is a comment, not RUN", entry: h("some custom --created-by text"), builder: Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := &image.Image{Config: cfg}
			if strings.Contains(tc.name, "values seen elsewhere") {
				// A later shell-form RUN of the same build anchors the values.
				img.SetHistory([]image.History{{CreatedBy: "|2 GREETING=hello SPACED=two words here /bin/sh -c true"}})
			}
			tr := New(img)
			for _, p := range tc.prior {
				tr.Translate(image.HistoryEntry{History: image.History{CreatedBy: p, EmptyLayer: true}, Layer: -1})
			}
			in := tr.Translate(tc.entry)
			if in.Builder != tc.builder || in.Keyword != tc.kw {
				t.Fatalf("got builder %q keyword %q, want %q %q (%+v)", in.Builder, in.Keyword, tc.builder, tc.kw, in)
			}
			if in.Raw != tc.entry.CreatedBy {
				t.Errorf("raw %q", in.Raw)
			}
			if tc.check != nil {
				tc.check(t, in)
			}
		})
	}
}

func h(s string) image.HistoryEntry {
	return image.HistoryEntry{History: image.History{CreatedBy: s}, Layer: -1}
}
func bk(s string) image.HistoryEntry {
	return image.HistoryEntry{History: image.History{CreatedBy: s, Comment: "buildkit.dockerfile.v0"}, Layer: -1}
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// buildah lists every ARG with a value declared so far in the stage, sorted,
// in each ARG entry (created_by and comments as podman 4.3 writes them).
func TestBuildahCumulativeArgs(t *testing.T) {
	type entry struct{ createdBy, comment, want string }
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"one stage", []entry{
			{"/bin/sh -c #(nop) ARG GREETING", "", "GREETING"},
			{"/bin/sh -c #(nop) ARG GREETING SPACED", "FROM 8422f1c64edb", "SPACED"},
			{"/bin/sh -c #(nop) ARG A GREETING SPACED", "FROM ecfa0e705ac7", "A"},
		}},
		{"a child stage on a named base starts afresh", []entry{
			{"/bin/sh -c #(nop) ARG A", "", "A"},
			{"/bin/sh -c #(nop) ARG A B", "FROM 127.0.0.1:5000/strata-test/parent:podman", "A B"},
		}},
		{"a list that stops growing starts a stage", []entry{
			{"/bin/sh -c #(nop) ARG A B", "", "A B"},
			{"/bin/sh -c #(nop) ARG C", "FROM 0123456789ab", "C"},
		}},
		{"nothing new: no name is declared", []entry{
			{"/bin/sh -c #(nop) ARG A", "", "A"},
			{"/bin/sh -c #(nop) ARG A", "FROM 0123456789ab", ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(&image.Image{})
			for _, e := range tc.entries {
				in := tr.Translate(image.HistoryEntry{History: image.History{CreatedBy: e.createdBy, Comment: e.comment, EmptyLayer: true}, Layer: -1})
				var names []string
				for _, p := range in.Pairs {
					names = append(names, p.Key)
				}
				if got := strings.Join(names, " "); got != e.want || in.Keyword != "ARG" || in.Builder != Buildah {
					t.Errorf("%q (%q): %s %s declares %q, want %q", e.createdBy, e.comment, in.Builder, in.Keyword, got, e.want)
				}
				if e.want != "" && in.Line() != "ARG "+e.want {
					t.Errorf("line %q", in.Line())
				}
			}
		})
	}
}
