package source

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
)

// TestParseManifestCorpus runs containers/image's manifest test data
// through the parser: each file's kind is known from what it is.
func TestParseManifestCorpus(t *testing.T) {
	dir := filepath.Join(testenv.Fixtures(t), "images", "containers-image", "manifest-testdata")
	cases := map[string]kind{
		"v2s2.manifest.json": kindImage, "v2s2nomime.manifest.json": kindImage,
		"ociv1.manifest.json": kindImage, "ociv1nomime.manifest.json": kindImage,
		"v2list.manifest.json": kindIndex, "v2list.everything.json": kindIndex, "schema2list.json": kindIndex, "schema2list-variants.json": kindIndex,
		"ociv1.image.index.json": kindIndex, "ociv1nomime.image.index.json": kindIndex, "oci1index.json": kindIndex, "oci1.index.everything.json": kindIndex,
		"ocilist-variants.json": kindIndex, "oci1.index.zstd-selection.json": kindIndex, "oci1.index.zstd-selection2.json": kindIndex,
		"v2s1.manifest.json": kindSchema1, "v2s1-unsigned.manifest.json": kindSchema1, "v2s1-invalid-signatures.manifest.json": kindSchema1,
		"schema2-to-schema1-by-docker.json": kindSchema1,
		"ociv1.artifact.json":               kindImage, "ociv1nomime.artifact.json": kindImage,
		"non-json.manifest.json": kindUnknown, "unknown-version.manifest.json": kindUnknown,
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			m, _, k, err := parseManifest(b, "")
			if want == kindUnknown {
				if err == nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported)) {
					t.Fatalf("got kind %v err %v, want a clear error", k, err)
				}
				return
			}
			if err != nil || k != want {
				t.Fatalf("got kind %v err %v, want %v", k, err, want)
			}
			switch k {
			case kindSchema1:
				img, err := schema1Image(m, image.MediaTypeDockerSchema1Signed, "sha256:x", int64(len(b)))
				if err != nil {
					t.Fatal(err)
				}
				// Every non-throwaway fsLayer is a layer, oldest first.
				nonEmpty := 0
				for _, f := range m.FSLayers {
					if f.BlobSum != emptyTarGzip {
						nonEmpty++
					}
				}
				if len(img.Layers) != nonEmpty || len(img.History) != len(m.History) || img.PairingProblem != "" {
					t.Errorf("schema1: %d layers (want %d), %d history (want %d), %q", len(img.Layers), nonEmpty, len(img.History), len(m.History), img.PairingProblem)
				}
				if len(m.FSLayers) == 0 {
					break
				}
				if last := m.FSLayers[len(m.FSLayers)-1].BlobSum; last != emptyTarGzip && img.Layers[0].Digest != last {
					t.Errorf("schema1 layers not reversed: first %s, oldest fsLayer %s", img.Layers[0].Digest, last)
				}
			case kindIndex:
				ix := toIndex(m, "", "")
				if len(ix.Manifests)+len(ix.Attestations) != len(m.Manifests) {
					t.Errorf("index lost entries")
				}
			}
		})
	}
}

func TestInferEmptyFromDaemonHistory(t *testing.T) {
	h := func(s string) image.History { return image.History{CreatedBy: s} }
	hist := []image.History{
		h("/bin/sh -c #(nop) ADD file:abc in / "),
		h("/bin/sh -c #(nop)  CMD [\"sh\"]"),
		h("WORKDIR /app"), // BuildKit: a real, empty layer
		h("ENV A=b"),
		h("RUN /bin/sh -c true # buildkit"), // makes a layer of size 0
		h("COPY x /x # buildkit"),
		h("/bin/sh -c #(nop) WORKDIR /app"), // buildah: an empty step
		h("/bin/sh -c rm -rf /tmp/x"),       // a layer of deletions only
	}
	sizes := []int64{5000, 0, 0, 0, 0, 300, 0, 0}
	got := inferEmpty(hist, sizes, 5)
	want := []bool{false, true, false, true, false, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d (%s): empty=%v, want %v", i, hist[i].CreatedBy, got[i], want[i])
		}
	}
}
