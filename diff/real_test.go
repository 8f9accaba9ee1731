package diff_test

// Tests against real builders and transports: images built by dockerd's
// classic builder, pushed to the real registry, saved with docker save and
// copied to an OCI layout with skopeo. The file-diff oracle is the daemon
// itself: `docker export` of a container is dockerd's own merged file
// system, extracted here with GNU tar and listed with the kernel's lstat —
// nothing of package layers is involved.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-tool/strata/diff"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// dockerEnv is a docker CLI pointed at the test daemon, plus the registry.
type dockerEnv struct {
	t        *testing.T
	host     string
	registry string
	tag      string // unique per test run, so parallel runs never collide
	ctxDir   string
}

func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	host := testenv.Service(t, "STRATA_TEST_DOCKER_HOST")
	reg := testenv.Service(t, "STRATA_TEST_REGISTRY")
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not on PATH")
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("busybox-static not installed: %v", err)
	}
	d := &dockerEnv{t: t, host: host, registry: reg, tag: fmt.Sprintf("t%d", os.Getpid()), ctxDir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(d.ctxDir, "busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *dockerEnv) docker(args ...string) string {
	d.t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host, "DOCKER_BUILDKIT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// build builds a Dockerfile with the classic builder and pushes it; it
// returns the local name and the registry reference.
func (d *dockerEnv) build(name, dockerfile string, extra ...string) (local, remote string) {
	d.t.Helper()
	df := filepath.Join(d.ctxDir, "Dockerfile."+name)
	if err := os.WriteFile(df, []byte(dockerfile), 0o644); err != nil {
		d.t.Fatal(err)
	}
	local = "strata-difftest/" + name + ":" + d.tag
	d.docker(append([]string{"build", "-q", "-f", df, "-t", local}, append(extra, d.ctxDir)...)...)
	remote = d.registry + "/" + local
	d.docker("tag", local, remote)
	d.docker("push", "-q", remote)
	d.t.Cleanup(func() { exec.Command("docker", "-H", d.host, "rmi", "-f", local, remote).Run() })
	return local, remote
}

// writeContext writes build-context files with a fixed mtime: COPY keeps
// it, so a rebuild (or another test run hitting the cache) makes the very
// same layer.
func (d *dockerEnv) writeContext(files map[string]string) {
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, body := range files {
		p := filepath.Join(d.ctxDir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			d.t.Fatal(err)
		}
		if err := os.Chtimes(p, fixed, fixed); err != nil {
			d.t.Fatal(err)
		}
	}
}

func open(t *testing.T, ref string) source.Source {
	t.Helper()
	return openWith(t, ref, source.Options{})
}

func openWith(t *testing.T, ref string, opts source.Options) source.Source {
	t.Helper()
	s, err := source.Open(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRealSameDockerfileTwice(t *testing.T) {
	d := newDockerEnv(t)
	// Content unique to this run: the classic builder's cache is keyed by
	// content, not mtime, and an older run's layer would otherwise be reused.
	d.writeContext(map[string]string{"a.txt": "a " + d.tag + "\n", "b.txt": "b\n"})
	const df = "FROM scratch\nCOPY a.txt /a.txt\nENV V=1\nCOPY b.txt /b.txt\nCMD [\"/a.txt\"]\n"
	_, one := d.build("same-one", df)
	_, two := d.build("same-two", df) // the builder's cache makes it the same image
	_, fresh := d.build("same-fresh", df, "--no-cache")

	a, b := open(t, one), open(t, two)
	r := diff.Images(a.Image(), b.Image(), diff.Options{})
	if !r.Verdict.Same() {
		t.Errorf("same Dockerfile pushed under two names: verdict %s", r.Verdict)
	}
	if len(r.Config) != 0 || r.FirstDifferingStep != nil || r.SharedLayers != 2 {
		t.Errorf("config %+v, first step %+v, shared %d: want no differences and 2 shared layers", r.Config, r.FirstDifferingStep, r.SharedLayers)
	}
	for _, c := range r.Manifest {
		if c.Field != "reference" {
			t.Errorf("manifest difference beyond the name: %+v", c)
		}
	}

	// Rebuilt without cache: same layers, new timestamps.
	c := open(t, fresh)
	r = diff.Images(a.Image(), c.Image(), diff.Options{})
	if r.Verdict != diff.Different || len(r.Config) != 1 || r.Config[0].Field != "created" {
		t.Errorf("rebuild: verdict %s, config %+v; want different by created only", r.Verdict, r.Config)
	}
	if r.SharedLayers != 2 || r.FirstDifferingStep != nil {
		t.Errorf("rebuild: shared %d, first step %+v", r.SharedLayers, r.FirstDifferingStep)
	}
	if r := diff.Images(a.Image(), c.Image(), diff.Options{IgnoreTimestamps: true}); r.Verdict != diff.SameContent {
		t.Errorf("rebuild with timestamps ignored: verdict %s, want same content", r.Verdict)
	}
}

func TestRealChildAndOneLineChange(t *testing.T) {
	d := newDockerEnv(t)
	d.writeContext(map[string]string{"a.txt": "a\n", "b.txt": "b\n", "b2.txt": "b, changed\n", "c.txt": "c\n"})
	parentLocal, parent := d.build("parent", "FROM scratch\nCOPY a.txt /a.txt\nLABEL role=parent\nCOPY b.txt /b.txt\nENV ROLE=parent\n")
	_, child := d.build("child", "FROM "+parentLocal+"\nCOPY c.txt /c.txt\nLABEL role=child\nENV ROLE=child\n")
	p, c := open(t, parent), open(t, child)
	r := diff.Images(p.Image(), c.Image(), diff.Options{})
	pi := p.Image()
	if r.SharedLayers != len(pi.Layers) {
		t.Errorf("shared chain %d, want the parent's whole chain of %d", r.SharedLayers, len(pi.Layers))
	}
	if r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != len(pi.History)+1 {
		t.Errorf("first differing step %+v, want %d (the child's first own step)", r.FirstDifferingStep, len(pi.History)+1)
	}
	var added []string
	for _, l := range r.History.Lines {
		if l.Op == "-" {
			t.Errorf("a parent step listed as removed: %q", l.Text)
		}
		if l.Op == "+" {
			added = append(added, l.Text)
		}
	}
	if len(added) != 3 || !strings.HasPrefix(added[0], "COPY file:") || added[1] != "LABEL role=child" || added[2] != "ENV ROLE=child" {
		t.Errorf("child's own steps = %q", added)
	}

	// One line changed in the middle (the second COPY): divergence at
	// exactly that step, and the layers below it still shared.
	const tmpl = "FROM scratch\nCOPY a.txt /a.txt\nENV X=1\nCOPY %s /b.txt\nENV Y=2\nCOPY c.txt /c.txt\n"
	_, m1 := d.build("middle-1", fmt.Sprintf(tmpl, "b.txt"))
	_, m2 := d.build("middle-2", fmt.Sprintf(tmpl, "b2.txt"))
	r = diff.Images(open(t, m1).Image(), open(t, m2).Image(), diff.Options{})
	if r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != 3 ||
		!strings.HasPrefix(r.FirstDifferingStep.A, "COPY file:") || !strings.HasSuffix(r.FirstDifferingStep.B, " /b.txt") {
		t.Errorf("first differing step %+v, want step 3 (the changed COPY)", r.FirstDifferingStep)
	}
	if r.SharedLayers != 1 {
		t.Errorf("shared chain %d, want 1 (the layer below the change)", r.SharedLayers)
	}
}

// The same image read from dockerd, the registry, a docker save tar and an
// OCI layout made from that tar by skopeo is the same content.
func TestRealAcrossTransports(t *testing.T) {
	d := newDockerEnv(t)
	local, remote := d.build("transports", "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\nRUN echo hi > /hi\n")
	tarPath := filepath.Join(t.TempDir(), "img.tar")
	d.docker("save", "-o", tarPath, local)
	refs := map[string]string{"registry": remote, "docker-archive": tarPath, "daemon": "docker-daemon:" + local}
	if _, err := exec.LookPath("skopeo"); err == nil {
		layout := filepath.Join(t.TempDir(), "layout")
		out, err := exec.Command("skopeo", "--insecure-policy", "copy", "docker-archive:"+tarPath, "oci:"+layout+":img").CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo copy: %v\n%s", err, out)
		}
		refs["oci-layout"] = "oci:" + layout + ":img"
	} else {
		t.Log("skopeo not installed: OCI layout not covered")
	}
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, x := range names {
		for _, y := range names[i+1:] {
			opts := source.Options{DockerHost: d.host}
			r := diff.Images(openWith(t, refs[x], opts).Image(), openWith(t, refs[y], opts).Image(), diff.Options{})
			if r.Verdict != diff.SameContent && r.Verdict != diff.Identical {
				t.Errorf("%s vs %s: verdict %s, want same content; config %+v", x, y, r.Verdict, r.Config)
			}
		}
	}
}

// TestRealFileDiffMatchesExport diffs images that delete, overwrite, chmod,
// chown and recreate directories (whiteouts and opaque directories in the
// daemon's layers), and checks the result against the difference between
// the two containers' exported file systems.
func TestRealFileDiffMatchesExport(t *testing.T) {
	d := newDockerEnv(t)
	baseLocal, _ := d.build("fs-base", `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
RUN mkdir -p /d/sub /e/deep /f && echo 1 > /d/a && echo 2 > /d/sub/b && echo 3 > /e/c && echo 4 > /e/deep/x && echo 5 > /f/keep && echo top > /top
`)
	aLocal, aRef := d.build("fs-a", "FROM "+baseLocal+`
RUN rm -rf /d/sub && echo changed > /top && chmod 600 /f/keep
RUN rm /e/c
`)
	bLocal, bRef := d.build("fs-b", "FROM "+baseLocal+`
RUN rm -rf /e && mkdir -p /e/deep && echo new > /e/deep/new
RUN rm /d/a && chown 1:2 /top && ln -s /top /link && mkdir /d/sub/more && echo m > /d/sub/more/m
RUN echo 5 > /f/keep
`)
	a, b := open(t, aRef), open(t, bRef)
	r := diff.Images(a.Image(), b.Image(), diff.Options{IgnoreTimestamps: true})
	if r.SharedLayers != 3 {
		t.Fatalf("shared chain %d, want the base's 3 layers", r.SharedLayers)
	}
	fr, err := diff.Files(context.Background(), a.Image(), b.Image(), a, b, r.SharedLayers, diff.Options{IgnoreTimestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range fr.Changes {
		if c.Kind == diff.Written {
			t.Errorf("%s left unresolved although the base was read (%v)", c.Path, fr.BaseRead)
		}
		got = append(got, strings.TrimSpace(c.Kind+" "+c.Path+" "+strings.Join(c.Fields, ",")))
	}
	want := exportDiff(t, d, aLocal, bLocal)
	t.Logf("exported file systems differ by:\n%s\nbase read: %v (%s)", strings.Join(want, "\n"), fr.BaseRead, fr.BaseReason)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file diff:\n%s\nexported file systems differ by:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) < 8 {
		t.Errorf("oracle found only %d differences; the test images are not exercising whiteouts", len(want))
	}

	// The same two images from docker save tars (uncompressed legacy
	// layers) give the same answer.
	dir := t.TempDir()
	ta, tb := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	d.docker("save", "-o", ta, aLocal)
	d.docker("save", "-o", tb, bLocal)
	sa, sb := open(t, ta), open(t, tb)
	fr, err = diff.Files(context.Background(), sa.Image(), sb.Image(), sa, sb, r.SharedLayers, diff.Options{IgnoreTimestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	var fromTars []string
	for _, c := range fr.Changes {
		fromTars = append(fromTars, strings.TrimSpace(c.Kind+" "+c.Path+" "+strings.Join(c.Fields, ",")))
	}
	if !reflect.DeepEqual(fromTars, want) {
		t.Errorf("file diff from docker save tars:\n%s\nwant:\n%s", strings.Join(fromTars, "\n"), strings.Join(want, "\n"))
	}
}

// node is one path of an extracted file system, as lstat sees it.
type node struct {
	typ      string
	mode     uint32
	uid, gid uint32
	size     int64
	link     string
	sum      string
}

// exportDiff lists how the exported file systems of containers of a and b
// differ.
func exportDiff(t *testing.T, d *dockerEnv, a, b string) []string {
	return fsDiff(exportFS(t, d, a), exportFS(t, d, b))
}

// fsDiff lists, in strata's "kind path fields" shape, how two listed file
// systems differ (timestamps aside).
func fsDiff(fa, fb map[string]node) []string {
	paths := map[string]bool{}
	for p := range fa {
		paths[p] = true
	}
	for p := range fb {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	var out []string
	for _, p := range sorted {
		x, okx := fa[p]
		y, oky := fb[p]
		switch {
		case !okx:
			out = append(out, "added "+p)
		case !oky:
			out = append(out, "removed "+p)
		default:
			var f []string
			if x.typ != y.typ {
				f = append(f, "type")
			}
			if x.mode != y.mode {
				f = append(f, "mode")
			}
			if x.uid != y.uid {
				f = append(f, "uid")
			}
			if x.gid != y.gid {
				f = append(f, "gid")
			}
			if x.link != y.link {
				f = append(f, "link")
			}
			if x.typ == "file" && y.typ == "file" {
				if x.size != y.size {
					f = append(f, "size")
				} else if x.sum != y.sum {
					f = append(f, "content")
				}
			}
			if len(f) > 0 {
				out = append(out, "changed "+p+" "+strings.Join(f, ","))
			}
		}
	}
	return out
}

func exportFS(t *testing.T, d *dockerEnv, img string) map[string]node {
	t.Helper()
	id := d.docker("create", img, "/bin/true")
	defer d.docker("rm", id)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "fs.tar")
	d.docker("export", "-o", tarPath, id)
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xpf", tarPath, "--numeric-owner", "-C", root).CombinedOutput(); err != nil {
		t.Fatalf("GNU tar -x: %v\n%s", err, out)
	}
	return listFS(t, root)
}

// listFS lists an extracted file system as lstat sees it.
func listFS(t *testing.T, root string) map[string]node {
	t.Helper()
	fsys := map[string]node{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(p, root+"/")
		n := node{mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid, size: st.Size}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			n.typ = "file"
			n.sum = testenv.FileSHA256(t, p)
		case syscall.S_IFDIR:
			n.typ, n.size = "dir", 0
		case syscall.S_IFLNK:
			n.typ, n.size = "symlink", 0
			n.link, _ = os.Readlink(p)
		default:
			n.typ = fmt.Sprintf("other(%o)", st.Mode&syscall.S_IFMT)
		}
		fsys[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestBuiltParentChild runs the seed experiment on the images every real
// builder made from testdata/builders/{parent,child}: the child shares the
// parent's whole chain, and only the child's own steps are listed.
func TestBuiltParentChild(t *testing.T) {
	built := testenv.BuiltImages(t)
	parents := map[string]testenv.BuiltImage{}
	for _, b := range built {
		if b.Name == "parent" {
			parents[b.Builder] = b
		}
	}
	checked := 0
	for _, c := range built {
		p, ok := parents[c.Builder]
		// Squashing builders fold the parent's layers into their own: there
		// is no chain to share, by construction.
		if c.Name != "child" || !ok || strings.Contains(c.Builder, "squash") {
			continue
		}
		t.Run(c.Builder, func(t *testing.T) {
			pi, ci := open(t, p.Refs["registry"]).Image(), open(t, c.Refs["registry"]).Image()
			r := diff.Images(pi, ci, diff.Options{})
			if r.SharedLayers != len(pi.Layers) {
				t.Errorf("shared chain %d, want the parent's %d layers", r.SharedLayers, len(pi.Layers))
			}
			if r.FirstDifferingStep == nil || r.FirstDifferingStep.Step != len(pi.History)+1 {
				t.Errorf("first differing step %+v, want %d", r.FirstDifferingStep, len(pi.History)+1)
			}
			for _, l := range r.History.Lines {
				if l.Op == "-" {
					t.Errorf("parent step %q listed as removed", l.Text)
				}
			}
		})
		checked++
	}
	if checked == 0 {
		t.Fatal("images.json has no parent/child pair")
	}
}

// TestBuiltAcrossTransports: each built image, opened through every
// transport the build script stored it in, is the same content as from
// the registry.
func TestBuiltAcrossTransports(t *testing.T) {
	for _, b := range testenv.BuiltImages(t) {
		if b.Name != "single" {
			continue
		}
		reg, ok := b.Refs["registry"]
		if !ok {
			continue
		}
		for transport, ref := range b.Refs {
			var opts source.Options
			switch transport {
			case "registry":
				continue
			case "docker-daemon":
				opts.DockerHost = testenv.Service(t, "STRATA_TEST_DOCKER_HOST")
			case "podman-daemon":
				opts.DockerHost = testenv.Service(t, "STRATA_TEST_PODMAN_HOST")
			case "docker29-daemon":
				opts.DockerHost = testenv.Service(t, "STRATA_TEST_DOCKER29_HOST")
			}
			t.Run(b.Builder+"/"+transport, func(t *testing.T) {
				a, o := open(t, reg).Image(), openWith(t, ref, opts).Image()
				r := diff.Images(a, o, diff.Options{})
				if r.Verdict.Same() {
					return
				}
				// Converting a Docker-format image to OCI (podman save, skopeo)
				// drops the Docker-only HEALTHCHECK and SHELL: a real config
				// difference over the very same layers, and it must say so.
				if r.SharedLayers != len(a.Layers) || len(o.Layers) != len(a.Layers) {
					t.Fatalf("registry vs %s: verdict %s, shared %d of %d layers", transport, r.Verdict, r.SharedLayers, len(a.Layers))
				}
				for _, c := range r.Config {
					if (c.Field != "healthcheck" && c.Field != "shell") || c.B != nil || !strings.HasPrefix(transport, "oci") {
						t.Errorf("registry vs %s: verdict %s, config change %s: %v → %v", transport, r.Verdict, c.Field, deref(c.A), deref(c.B))
					}
				}
				t.Logf("registry vs %s: %s; the OCI copy lost %d Docker-only config fields", transport, r.Verdict, len(r.Config))
			})
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "(unset)"
	}
	return *s
}
