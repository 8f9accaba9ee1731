package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
)

// oracleFS is an independent reading of an image's final file system:
// GNU tar unpacks the archive, then each layer in turn into one
// directory (whiteouts applied by hand before each layer, as the OCI
// spec orders), and the tree is listed as path → type, mode, owner, size,
// content sha256 or link target (mtimes left out). Nothing of strata's
// layer code is used. Needs root (owners, devices) and GNU tar.
func oracleFS(t *testing.T, archive string) map[string]string {
	t.Helper()
	work := t.TempDir()
	unpacked, root := filepath.Join(work, "archive"), filepath.Join(work, "root")
	for _, d := range []string{unpacked, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gnuTar(t, "-xf", archive, "-C", unpacked)
	for _, layer := range archiveLayers(t, unpacked) {
		for _, name := range strings.Split(gnuTar(t, "-tf", layer), "\n") {
			name = strings.TrimPrefix(path.Clean("/"+name), "/")
			dir, base := path.Split(name)
			switch {
			case base == ".wh..wh..opq":
				entries, _ := os.ReadDir(filepath.Join(root, dir))
				for _, e := range entries {
					os.RemoveAll(filepath.Join(root, dir, e.Name()))
				}
			case strings.HasPrefix(base, ".wh."):
				os.RemoveAll(filepath.Join(root, dir, strings.TrimPrefix(base, ".wh.")))
			}
		}
		gnuTar(t, "--numeric-owner", "-xpf", layer, "-C", root, "--exclude=.wh.*")
	}
	return treeListing(t, root)
}

func gnuTar(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tar", args...).Output()
	if err != nil {
		t.Fatalf("tar %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// archiveLayers lists the layer files of an unpacked docker save or OCI
// archive, bottom first: manifest.json when there is one, else
// index.json down to the first image manifest.
func archiveLayers(t *testing.T, dir string) []string {
	t.Helper()
	var saved []struct{ Layers []string }
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
		if err := json.Unmarshal(b, &saved); err != nil || len(saved) == 0 {
			t.Fatalf("manifest.json: %v", err)
		}
		var out []string
		for _, l := range saved[0].Layers {
			out = append(out, filepath.Join(dir, l))
		}
		return out
	}
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
	}
	var doc struct {
		Manifests []desc `json:"manifests"`
		Layers    []desc `json:"layers"`
	}
	blob := func(d string) string { return filepath.Join(dir, "blobs", strings.Replace(d, ":", "/", 1)) }
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	for depth := 0; err == nil && len(doc.Layers) == 0 && depth < 4; depth++ {
		doc.Manifests = nil
		if err = json.Unmarshal(b, &doc); err == nil && len(doc.Manifests) > 0 {
			b, err = os.ReadFile(blob(doc.Manifests[0].Digest))
		}
	}
	if err != nil || len(doc.Layers) == 0 {
		t.Fatalf("no layers found in %s: %v", dir, err)
	}
	var out []string
	for _, l := range doc.Layers {
		out = append(out, blob(l.Digest))
	}
	return out
}

// treeListing describes every path below root, mtimes aside.
func treeListing(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		s := fmt.Sprintf("%s %d:%d", info.Mode(), st.Uid, st.Gid)
		switch {
		case info.Mode().IsRegular():
			s += fmt.Sprintf(" %d %s", info.Size(), testenv.FileSHA256(t, p)[:16])
		case info.Mode()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			s += " -> " + to
		}
		out["/"+rel] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree says "identical" or lists what differs.
func sameTree(a, b map[string]string) string {
	var d []string
	for p, x := range a {
		if y, ok := b[p]; !ok {
			d = append(d, "only in original: "+p)
		} else if x != y {
			d = append(d, fmt.Sprintf("%s: %s → %s", p, x, y))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			d = append(d, "only in rebuild: "+p)
		}
	}
	if len(d) == 0 {
		return "identical"
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}
