package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// PackageSet is what PackageImages built: registry references of the
// package test images (testdata/packages/README.md) and the directories
// the package managers' own tools list for comparison.
type PackageSet struct {
	// Registry references.
	Debian, Blame, RPM, Node, Go string
	// DpkgAdmin is the debian image's var/lib/dpkg (dpkg-query --admindir).
	DpkgAdmin string
	// DistPackages is its usr/lib/python3/dist-packages (pip list --path).
	DistPackages string
	// RPMRoots are the two rpm roots the rpm image's steps copy in
	// (rpm --root … -qa).
	RPMRoots [2]string
	// NodeDir holds package.json and node_modules (npm ls).
	NodeDir string
	// GoBinaries are the host paths of the Go binaries in the go image,
	// by image path (go version -m).
	GoBinaries map[string]string
}

// pkgImagesVersion changes when the images must be rebuilt.
const pkgImagesVersion = "v1"

// PackageImages builds the package test images with real package
// managers and BuildKit and pushes them, once per registry: the work
// directory ($STRATA_TEST_IMAGES/packages) keeps the artifacts, and an
// image already in the registry is not built again. Needs the registry,
// buildkitd, mmdebstrap, rpmbuild, npm and the Debian and npm registries.
func PackageImages(t testing.TB) PackageSet {
	t.Helper()
	reg := Service(t, "STRATA_TEST_REGISTRY")
	bk := Service(t, "STRATA_TEST_BUILDKIT_ADDR")
	dir := filepath.Join(Service(t, "STRATA_TEST_IMAGES"), "packages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ref := func(tag string) string { return reg + "/strata-test/pkg:" + tag + "-" + pkgImagesVersion }
	set := PackageSet{Debian: ref("debian"), Blame: ref("blame"), RPM: ref("rpm"), Node: ref("node"), Go: ref("go"),
		GoBinaries: map[string]string{}}
	b := pkgBuilder{t: t, reg: reg, bk: bk, dir: dir, src: filepath.Join(Testdata(), "packages")}
	set.DpkgAdmin, set.DistPackages = b.debian(set.Debian)
	b.blame(set.Blame, set.Debian)
	set.RPMRoots = b.rpm(set.RPM)
	set.NodeDir = b.node(set.Node)
	set.GoBinaries = b.gobin(set.Go)
	return set
}

type pkgBuilder struct {
	t            testing.TB
	reg, bk, dir string
	src          string
}

// build runs BuildKit on a context directory and pushes ref, unless the
// registry has it.
func (b pkgBuilder) build(ref, ctx, dockerfile string, opts ...string) {
	b.t.Helper()
	repo, tag, _ := strings.Cut(strings.TrimPrefix(ref, b.reg+"/"), ":")
	if registryHas(b.reg, repo, tag) {
		return
	}
	buildctl := os.Getenv("STRATA_TEST_BUILDCTL")
	if buildctl == "" {
		buildctl = "buildctl"
	}
	args := []string{"--addr", b.bk, "build", "--progress=quiet", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctx, "--local", "dockerfile=" + ctx, "--opt", "filename=" + dockerfile,
		"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}
	run(b.t, buildctl, append(args, opts...)...)
}

// debian makes the root file system with mmdebstrap (once) and builds
// it FROM scratch.
func (b pkgBuilder) debian(ref string) (admin, dist string) {
	b.t.Helper()
	ctx := filepath.Join(b.dir, "debian")
	root := filepath.Join(ctx, "root")
	tarball := filepath.Join(ctx, "rootfs.tar")
	if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg/status")); err != nil {
		os.RemoveAll(ctx)
		mkdir(b.t, root)
		run(b.t, "mmdebstrap", "--quiet", "--variant=minbase", "--include=python3-requests,python3-yaml",
			"bookworm", tarball, aptMirror())
		run(b.t, "tar", "-xf", tarball, "-C", root, "./var/lib/dpkg", "./usr/lib/python3/dist-packages")
		write(b.t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nADD rootfs.tar /\nCMD [\"bash\"]\n")
	}
	b.build(ref, ctx, "Dockerfile")
	return filepath.Join(root, "var/lib/dpkg"), filepath.Join(root, "usr/lib/python3/dist-packages")
}

// aptMirror is the Debian mirror apt on this machine uses.
func aptMirror() string {
	for _, f := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:" && !strings.Contains(fields[1], "security"):
				fh.Close()
				return fields[1]
			case len(fields) >= 3 && fields[0] == "deb" && !strings.Contains(fields[1], "security"):
				fh.Close()
				return fields[1]
			}
		}
		fh.Close()
	}
	return "http://deb.debian.org/debian"
}

// blame builds Dockerfile.blame FROM the debian image with the .debs
// dpkg-deb makes from testdata/packages/debs.
func (b pkgBuilder) blame(ref, debian string) {
	b.t.Helper()
	ctx := filepath.Join(b.dir, "blame")
	os.RemoveAll(ctx)
	mkdir(b.t, filepath.Join(ctx, "debs"))
	ents, err := os.ReadDir(filepath.Join(b.src, "debs"))
	if err != nil {
		b.t.Fatal(err)
	}
	for _, e := range ents {
		run(b.t, "dpkg-deb", "--root-owner-group", "--build", filepath.Join(b.src, "debs", e.Name()),
			filepath.Join(ctx, "debs", e.Name()+".deb"))
	}
	df, err := os.ReadFile(filepath.Join(b.src, "Dockerfile.blame"))
	if err != nil {
		b.t.Fatal(err)
	}
	write(b.t, filepath.Join(ctx, "Dockerfile"), string(df))
	b.build(ref, ctx, "Dockerfile", "--opt", "context:debian=docker-image://"+debian)
}

func mkdir(t testing.TB, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func output(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
