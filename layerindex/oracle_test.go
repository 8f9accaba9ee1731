package layerindex_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// oracleEntry is one path of a container's file system as GNU tar wrote
// it to disk from `docker export` (or `podman export`): the engine's own
// overlay merge, read back with lstat.
type oracleEntry struct {
	typ      layers.Type
	mode     uint32
	uid, gid int
	size     int64
	mtime    time.Time
	link     string
	digest   string
	ino      uint64
}

// initPaths are what the engine adds to every container (its init layer)
// or mounts over; they are not the image's and are compared by neither side.
var initPaths = []string{".dockerenv", "dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab", "run/.containerenv"}

func isInitPath(p string) bool {
	for _, q := range initPaths {
		if p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	// etc itself: the init layer creates or re-creates it over the image's.
	return p == "etc" || p == "run"
}

// exportFS creates a container from the image with engine (docker or
// podman), exports it and extracts the tar with GNU tar as root.
func exportFS(t *testing.T, engine []string, image string) map[string]oracleEntry {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the export oracle extracts owners and setuid bits: run as root")
	}
	// Only stdout is the container ID: engines warn on stderr (podman
	// about layers a killed run left incomplete).
	var stderr strings.Builder
	create := exec.Command(engine[0], append(engine[1:], "create", image, "/nonexistent")...)
	create.Stderr = &stderr
	out, err := create.Output()
	if err != nil {
		t.Fatalf("%s create %s: %v\n%s%s", engine[0], image, err, out, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	defer exec.Command(engine[0], append(engine[1:], "rm", "-f", id)...).Run()
	dir := t.TempDir()
	export := exec.Command(engine[0], append(engine[1:], "export", id)...)
	untar := exec.Command("tar", "--numeric-owner", "-xpf", "-", "-C", dir)
	pipe, _ := export.StdoutPipe()
	untar.Stdin = pipe
	var errb strings.Builder
	untar.Stderr, export.Stderr = &errb, &errb
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := export.Run(); err != nil {
		t.Fatalf("%s export: %v %s", engine[0], err, errb.String())
	}
	if err := untar.Wait(); err != nil {
		t.Fatalf("tar -x: %v %s", err, errb.String())
	}
	return walkOracle(t, dir)
}

func walkOracle(t *testing.T, root string) map[string]oracleEntry {
	t.Helper()
	got := map[string]oracleEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." || isInitPath(rel) {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		e := oracleEntry{mode: uint32(st.Mode) & 0o7777, uid: int(st.Uid), gid: int(st.Gid),
			mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC(), ino: st.Ino}
		switch {
		case info.IsDir():
			e.typ = layers.TypeDir
		case info.Mode()&fs.ModeSymlink != 0:
			e.typ = layers.TypeSymlink
			e.link, _ = os.Readlink(p)
		case info.Mode().IsRegular():
			e.typ, e.size, e.digest = layers.TypeFile, info.Size(), fileDigest(t, p)
		case info.Mode()&fs.ModeNamedPipe != 0:
			e.typ = layers.TypeFIFO
		default:
			e.typ = layers.TypeOther
		}
		got[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func fileDigest(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// compareFS checks every field of every path; a hardlink must be the same
// inode as its target on disk. mtimes are compared to the second (tar
// headers may carry less), rounded as eStargz TOCs round them when the
// index came from one.
func compareFS(t *testing.T, what string, im *layerindex.Image, fsys *layerindex.FS, want map[string]oracleEntry) {
	t.Helper()
	var diffs []string
	seen := map[string]bool{}
	for _, f := range fsys.Files() {
		if isInitPath(f.Path) {
			continue
		}
		seen[f.Path] = true
		o, ok := want[f.Path]
		if !ok {
			diffs = append(diffs, f.Path+": strata lists it, the container has none")
			continue
		}
		typ, size, digest := f.Type, f.Size, f.Digest
		if typ == layers.TypeHardlink {
			if tgt, ok := want[f.Link]; !ok || tgt.ino != o.ino {
				diffs = append(diffs, f.Path+": hardlink whose target is another inode in the container")
			}
			typ = layers.TypeFile
		}
		rounded := im.Layer(f.Layer).Format == layerindex.FormatEStargz && im.Layer(f.Layer).FromTOC
		got := fmt.Sprintf("%s %o %d:%d size=%d link=%q %s mtime=%d", typ, f.Mode, f.UID, f.GID, sizeOf(typ, size), f.Link, digest, seconds(f.ModTime, false))
		exp := fmt.Sprintf("%s %o %d:%d size=%d link=%q %s mtime=%d", o.typ, o.mode, o.uid, o.gid, sizeOf(o.typ, o.size), linkOf(typ, o.link, f.Link), o.digest, seconds(o.mtime, rounded))
		if got != exp {
			diffs = append(diffs, fmt.Sprintf("%s:\n    strata    %s\n    container %s", f.Path, got, exp))
		}
	}
	if len(seen) < 2 {
		diffs = append(diffs, fmt.Sprintf("only %d paths compared", len(seen)))
	}
	for p := range want {
		if !seen[p] {
			diffs = append(diffs, p+": in the container, not in strata's listing")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences from the container:\n  %s", what, len(diffs), strings.Join(diffs[:min(len(diffs), 15)], "\n  "))
	}
}

func sizeOf(t layers.Type, n int64) int64 {
	if t != layers.TypeFile {
		return 0
	}
	return n
}

// linkOf: the container has no link target for a hardlink (it is a file).
func linkOf(t layers.Type, oracle, strata string) string {
	if t == layers.TypeFile && strata != "" {
		return strata
	}
	return oracle
}

func seconds(t time.Time, round bool) int64 {
	if round {
		return t.Round(time.Second).Unix()
	}
	return t.Unix()
}

func indexImage(t *testing.T, ref string, opts layerindex.Options) (*layerindex.Image, *layerindex.FS) {
	t.Helper()
	src, err := source.Open(context.Background(), ref, source.Options{DockerHost: os.Getenv("STRATA_TEST_DOCKER_HOST")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	im := layerindex.New(src, opts)
	if err := im.Load(context.Background()); err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	fsys, err := im.Merge(len(im.Image.Layers))
	if err != nil {
		t.Fatal(err)
	}
	if len(fsys.Orphans) > 0 {
		t.Errorf("%s: orphans in a real builder's image: %v", ref, fsys.Orphans)
	}
	return im, fsys
}

// TestMergedFSMatchesContainerExport compares the final file system of
// every test image — every builder, read as gzip from the registry, as
// zstd from an OCI layout, as a plain docker save, and (for one Dockerfile)
// from the daemon — with the container file system the Docker engine
// itself builds from the same image.
func TestMergedFSMatchesContainerExport(t *testing.T) {
	host := testenv.Service(t, "STRATA_TEST_DOCKER_HOST")
	docker := []string{"docker", "-H", host}
	images := testenv.BuiltImages(t)
	compared := 0
	for _, img := range images {
		daemonRef, ok := img.Refs["docker-daemon"]
		if !ok {
			continue
		}
		t.Run(img.Name+"/"+img.Builder, func(t *testing.T) {
			want := exportFS(t, docker, strings.TrimPrefix(daemonRef, "docker-daemon:"))
			labels := []string{"registry", "oci-layout-zstd", "docker-archive"}
			if img.Name == "single" {
				// Every other way in, for one Dockerfile: the daemon (its
				// stream), a whole-file gzip save, Docker 29's OCI save with
				// compressed blobs, podman's archives, crane's layout.
				labels = append(labels, "docker-daemon", "docker-archive-gzip", "docker29-archive",
					"oci-archive", "podman-docker-archive", "crane-oci-layout")
			}
			for _, label := range labels {
				ref, ok := img.Refs[label]
				if !ok {
					t.Fatalf("no %s ref", label)
				}
				im, fsys := indexImage(t, ref, layerindex.Options{})
				compareFS(t, label, im, fsys, want)
			}
		})
		compared++
	}
	if compared < 10 {
		t.Fatalf("compared %d images; the test image set should hold every builder's", compared)
	}
}
