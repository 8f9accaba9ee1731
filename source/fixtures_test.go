package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// expectation is what an image's own JSON says, read here with nothing but
// the standard library so it does not share code with package source.
type expectation struct {
	diffIDs []string
	history int
}

// archiveJSON returns every small JSON-ish entry of a (possibly whole-file
// compressed) tar, decompressing with the system tools for xz.
func archiveJSON(t *testing.T, path string) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(raw)
	switch {
	case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case bytes.HasPrefix(raw, []byte{0xfd, '7', 'z', 'X', 'Z'}):
		out, err := exec.Command("xz", "-dc", path).Output()
		if err != nil {
			t.Skipf("xz not available to compute expectations: %v", err)
		}
		r = bytes.NewReader(out)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Size < 1<<20 {
			b, _ := io.ReadAll(tr)
			if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
				files[name] = b
			}
		}
	}
	return files
}

func configExpect(t *testing.T, b []byte) expectation {
	var c struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []json.RawMessage `json:"history"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("config: %v", err)
	}
	return expectation{diffIDs: c.RootFS.DiffIDs, history: len(c.History)}
}

// dockerExpect reads manifest.json → config for the entry tagged ref (or
// the only one).
func dockerExpect(t *testing.T, files map[string][]byte, ref string) expectation {
	var mf []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &mf); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	for _, e := range mf {
		if ref == "" || contains(e.RepoTags, ref) {
			ex := configExpect(t, files[e.Config])
			if len(e.Layers) != len(ex.diffIDs) {
				t.Fatalf("fixture's own manifest.json has %d layers vs %d diff_ids", len(e.Layers), len(ex.diffIDs))
			}
			return ex
		}
	}
	t.Fatalf("no manifest.json entry for %q", ref)
	return expectation{}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s || strings.HasSuffix(x, ":"+s) {
			return true
		}
	}
	return false
}

// ociExpect follows index.json (by ref name, or the single entry) through
// nested indexes, taking the linux/amd64 or only manifest.
func ociExpect(t *testing.T, blob func(string) []byte, index []byte, ref string) expectation {
	type desc struct {
		MediaType   string                             `json:"mediaType"`
		Digest      string                             `json:"digest"`
		Platform    *struct{ OS, Architecture string } `json:"platform"`
		Annotations map[string]string                  `json:"annotations"`
	}
	var doc struct {
		Manifests []desc `json:"manifests"`
		Config    *desc  `json:"config"`
		Layers    []desc `json:"layers"`
	}
	if err := json.Unmarshal(index, &doc); err != nil {
		t.Fatal(err)
	}
	for depth := 0; depth < 5; depth++ {
		if doc.Config != nil {
			ex := configExpect(t, blob(doc.Config.Digest))
			if len(doc.Layers) != len(ex.diffIDs) {
				t.Fatalf("fixture's own manifest has %d layers vs %d diff_ids", len(doc.Layers), len(ex.diffIDs))
			}
			return ex
		}
		var next *desc
		for i, d := range doc.Manifests {
			if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
				continue
			}
			if depth == 0 && ref != "" && d.Annotations["org.opencontainers.image.ref.name"] != ref {
				continue
			}
			if d.Platform != nil && (d.Platform.OS != "linux" || d.Platform.Architecture != "amd64") && len(doc.Manifests) > 1 {
				continue
			}
			next = &doc.Manifests[i]
			break
		}
		if next == nil {
			t.Fatalf("no manifest for %q", ref)
		}
		doc.Manifests, doc.Config, doc.Layers = nil, nil, nil
		if err := json.Unmarshal(blob(next.Digest), &doc); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("too deep")
	return expectation{}
}

func blobFromFiles(files map[string][]byte) func(string) []byte {
	return func(d string) []byte { return files["blobs/"+strings.Replace(d, ":", "/", 1)] }
}

func blobFromDir(dir string) func(string) []byte {
	return func(d string) []byte {
		b, _ := os.ReadFile(filepath.Join(dir, "blobs", strings.Replace(d, ":", "/", 1)))
		return b
	}
}

// TestFixtureImagesOpen opens every image under shared/fixtures/images and
// checks layer count, diff_ids and history length against the image's own
// JSON, then streams every layer (verifying digests).
func TestFixtureImagesOpen(t *testing.T) {
	root := filepath.Join(testenv.Fixtures(t), "images")
	type tc struct {
		ref      string // relative to root, with :NAME where needed
		expect   func(t *testing.T) expectation
		wantErr  error
		artifact bool
	}
	var cases []tc
	archive := func(rel, name string) tc {
		return tc{ref: rel + suffix(name), expect: func(t *testing.T) expectation {
			files := archiveJSON(t, filepath.Join(root, rel))
			if idx, ok := files["index.json"]; ok && files["manifest.json"] == nil {
				return ociExpect(t, blobFromFiles(files), idx, name)
			}
			return dockerExpect(t, files, name)
		}}
	}
	layout := func(rel, name string) tc {
		return tc{ref: rel + suffix(name), expect: func(t *testing.T) expectation {
			idx, err := os.ReadFile(filepath.Join(root, rel, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			return ociExpect(t, blobFromDir(filepath.Join(root, rel)), idx, name)
		}}
	}
	for _, f := range []string{
		"containers-image/almostempty.tar", "dive/test-docker-image.tar", "dive/test-kaniko-image.tar",
		"dive/test-oci-estargz-image.tar", "dive/test-oci-gzip-image.tar", "dive/test-oci-uncompressed-image.tar", "dive/test-oci-zstd-image.tar",
		"fanal/alpine-310.tar.gz", "fanal/alpine-311.tar.gz",
		"ggcr/mutate/overwritten_file.tar", "ggcr/mutate/source_image_with_empty_layer_history.tar", "ggcr/mutate/whiteout_dir.tar", "ggcr/mutate/whiteout_image.tar",
		"ggcr/tarball/hello-world-v25.tar", "ggcr/tarball/test_image_1.tar", "ggcr/tarball/test_image_2.tar",
	} {
		cases = append(cases, archive(f, ""))
	}
	cases = append(cases,
		archive("ggcr/tarball/test_bundle.tar", "test_image_1"), archive("ggcr/tarball/test_bundle.tar", "test_image_2"),
		archive("ggcr/tarball/test_link.tar", "bazel/v1/tarball:test_image_1"), archive("ggcr/tarball/test_link.tar", "bazel/v1/tarball:test_image_3"),
		archive("skopeo/docker-two-images.tar.xz", "example.com/empty:latest"), archive("skopeo/docker-two-images.tar.xz", "example.com/empty/but:different"),
		tc{ref: "ggcr/tarball/test_bundle.tar", wantErr: source.ErrAmbiguous},
		tc{ref: "skopeo/docker-two-images.tar.xz", wantErr: source.ErrAmbiguous},
		layout("ggcr/layout/test_index_one_image", ""),
		layout("ggcr/layout/test_index", "1"), layout("ggcr/layout/test_index", "3"), layout("ggcr/layout/test_index", "4"),
		layout("ggcr/layout/test_gc_index", "1"),
		tc{ref: "ggcr/layout/test_index", wantErr: source.ErrAmbiguous},
		// An artifact (Helm chart) is not an image, and a layout whose
		// manifest blob was garbage-collected cannot be opened.
		tc{ref: "ggcr/layout/test_index_media_type", wantErr: source.ErrUnsupported},
		tc{ref: "ggcr/layout/test_gc_image_unknown_mediatype", wantErr: source.ErrNotFound},
	)
	// Every named image of the regclient layouts.
	for _, rel := range []string{"regclient/testrepo", "regclient/external"} {
		idx, err := os.ReadFile(filepath.Join(root, rel, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Manifests []struct {
				MediaType    string            `json:"mediaType"`
				ArtifactType string            `json:"artifactType"`
				Annotations  map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(idx, &doc); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range doc.Manifests {
			if n := m.Annotations["org.opencontainers.image.ref.name"]; n != "" && !strings.HasPrefix(n, "sha256-") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			c := layout(rel, n)
			c.artifact = isArtifact(t, filepath.Join(root, rel), n)
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			ctx := context.Background()
			src, err := source.Open(ctx, filepath.Join(root, c.ref), source.Options{})
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("got %v, want %v", err, c.wantErr)
				}
				return
			}
			if c.artifact {
				// regclient's test repo holds artifacts (signatures, SBOMs)
				// alongside images: those must be refused clearly, not opened.
				if !errors.Is(err, source.ErrUnsupported) {
					t.Fatalf("artifact: got %v, want ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer src.Close()
			want := c.expect(t)
			img := src.Image()
			if got := img.DiffIDs(); strings.Join(got, ",") != strings.Join(want.diffIDs, ",") {
				t.Errorf("diff_ids:\n got %v\nwant %v", got, want.diffIDs)
			}
			if len(img.History) != want.history {
				t.Errorf("history: got %d entries, want %d", len(img.History), want.history)
			}
			for i := range img.Layers {
				rc, err := src.OpenLayer(ctx, i)
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					t.Errorf("layer %d: %v", i, err)
				}
				rc.Close()
			}
		})
	}
}

func suffix(name string) string {
	if name == "" {
		return ""
	}
	return ":" + name
}

// isArtifact decides from the layout's JSON alone whether the entry named n
// is an OCI artifact rather than a runnable image: an artifactType on the
// manifest or index, or layers that are not tars.
func isArtifact(t *testing.T, dir, n string) bool {
	var idx struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	for _, m := range idx.Manifests {
		if m.Annotations["org.opencontainers.image.ref.name"] != n {
			continue
		}
		var doc struct {
			ArtifactType string `json:"artifactType"`
			Layers       []struct {
				MediaType string `json:"mediaType"`
			} `json:"layers"`
		}
		if err := json.Unmarshal(blobFromDir(dir)(m.Digest), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ArtifactType != "" {
			return true
		}
		for _, l := range doc.Layers {
			if !strings.Contains(l.MediaType, "tar") {
				return true
			}
		}
	}
	return false
}
