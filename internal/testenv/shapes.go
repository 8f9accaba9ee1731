package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// shapesDockerfile copies in every shape strata dockerfile --context must
// give back: a directory to a relative destination, several sources into
// one directory, a directory with --chown, a local archive ADD extracts, a
// tree holding a symlink, a hardlink and an empty directory, a setuid
// file, and a file copied twice with different modes. FROM scratch with
// busybox; no network, no clock in any file.
const shapesDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
WORKDIR /srv
COPY app/ ./app/
COPY conf/a.conf conf/b.conf /etc/shapes/
COPY --chown=1000:1000 data /data
ADD rootfs.tar /opt/rootfs/
COPY tree/ /tree/
COPY tool /usr/local/bin/tool
COPY plain.txt /opt/one.txt
COPY plain.txt /opt/two.txt
RUN chmod 600 /opt/two.txt && echo done > /srv/done.txt
`

type shapeFile struct {
	body []byte
	mode os.FileMode
	link string // symlink target
	hard string // hardlink target (a path of this context)
	dir  bool
}

// shapesContext is the build context of shapesDockerfile.
func shapesContext() map[string]shapeFile {
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	mt := time.Unix(1700000000, 0)
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt},
		{Name: "etc/os-release", Typeflag: tar.TypeReg, Mode: 0o644, Size: 12, ModTime: mt},
		{Name: "lib/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt},
		{Name: "lib/x.so", Typeflag: tar.TypeReg, Mode: 0o755, Size: 4, ModTime: mt},
		{Name: "lib/x.so.1", Typeflag: tar.TypeSymlink, Linkname: "x.so", ModTime: mt},
	} {
		tw.WriteHeader(h)
		switch h.Name {
		case "etc/os-release":
			tw.Write([]byte("ID=shapes\nV1\n"[:12]))
		case "lib/x.so":
			tw.Write([]byte("\x7fELF"))
		}
	}
	tw.Close()
	return map[string]shapeFile{
		"Dockerfile":       {body: []byte(shapesDockerfile), mode: 0o644},
		"app/main.sh":      {body: []byte("#!/bin/sh\necho app\n"), mode: 0o755},
		"app/lib/util.sh":  {body: []byte("util() { :; }\n"), mode: 0o644},
		"conf/a.conf":      {body: []byte("a=1\n"), mode: 0o644},
		"conf/b.conf":      {body: []byte("b=2\n"), mode: 0o640},
		"data/rows.csv":    {body: []byte("id,name\n1,x\n"), mode: 0o644},
		"data/sub/":        {dir: true, mode: 0o750},
		"data/sub/n.txt":   {body: []byte("nested\n"), mode: 0o644},
		"rootfs.tar":       {body: rootfs.Bytes(), mode: 0o644},
		"tree/x":           {body: []byte("x content\n"), mode: 0o644},
		"tree/x-hard":      {hard: "tree/x"},
		"tree/x-link":      {link: "x"},
		"tree/abs-link":    {link: "/etc/shapes/a.conf"},
		"tree/empty/":      {dir: true, mode: 0o755},
		"tree/deep/er/f":   {body: []byte("deep\n"), mode: 0o600},
		"tool":             {body: []byte("#!/bin/sh\nid\n"), mode: 0o4755},
		"plain.txt":        {body: []byte("plain\n"), mode: 0o644},
		"unused-by-copy/x": {body: []byte("the rebuild must not need this\n"), mode: 0o644},
	}
}

// ShapesImages builds shapesDockerfile with the classic builder, BuildKit
// and buildah once per registry (the tag carries a hash of the context)
// and returns, per builder, references to its registry image and its
// archive.
func ShapesImages(t testing.TB) map[string]map[string]string {
	t.Helper()
	reg := Service(t, "STRATA_TEST_REGISTRY")
	out := Service(t, "STRATA_TEST_IMAGES")
	files := shapesContext()
	h := sha256.New()
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f := files[k]
		fmt.Fprintf(h, "%s\x00%o\x00%s\x00%s\x00%v\x00%x\x00", k, f.mode, f.link, f.hard, f.dir, f.body)
	}
	tag := hex.EncodeToString(h.Sum(nil))[:12]
	dir := filepath.Join(out, "shapes", tag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(out, ".shapes.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx := shapesDir(t, files)
	refs := map[string]map[string]string{}
	for _, b := range []string{"classic", "buildkit", "buildah"} {
		ref := reg + "/strata-test/shapes:" + tag + "-" + b
		archive := filepath.Join(dir, b+".tar")
		if _, err := os.Stat(archive); err != nil || !registryHas(reg, "strata-test/shapes", tag+"-"+b) {
			buildImage(t, b, ref, archive, ctx, nil, "")
		}
		refs[b] = map[string]string{"registry": ref, "archive": archive}
	}
	return refs
}

func shapesDir(t testing.TB, files map[string]shapeFile) string {
	dir := t.TempDir()
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names) // hardlink targets before their links
	for _, name := range names {
		f := files[name]
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case f.dir:
			err = os.MkdirAll(p, 0o755)
		case f.link != "":
			err = os.Symlink(f.link, p)
		case f.hard != "":
			err = os.Link(filepath.Join(dir, filepath.FromSlash(f.hard)), p)
		default:
			err = os.WriteFile(p, f.body, 0o600)
		}
		if err == nil && f.link == "" && f.hard == "" {
			err = syscall.Chmod(p, uint32(f.mode)) // os.Chmod would drop the setuid bit of a raw mode
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed to build the shapes image: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
