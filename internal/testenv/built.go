package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BuiltImage is one image that scripts/build-test-images.sh built with a
// real builder from a Dockerfile under testdata/builders/, and then pushed
// and saved into every format. The script writes a JSON array of these to
// $STRATA_TEST_IMAGES/images.json.
type BuiltImage struct {
	// Name is the test Dockerfile's directory name under testdata/builders.
	Name string `json:"name"`
	// Builder is one of: classic, buildkit-dockerd (dockerd's BuildKit 0.8),
	// buildkit (standalone 0.34), buildkit-provenance (standalone with
	// attest:provenance=mode=max), docker29-buildkit (Docker 29's own
	// BuildKit via buildx, with provenance), podman (podman build: --layers
	// by default), podman-nolayers (podman build --layers=false --format
	// docker), buildah (plain buildah bud: no --layers, one commit),
	// buildah-layers, buildah-squash, buildah-squash-all.
	Builder string `json:"builder"`
	// Dockerfile is the absolute path of the Dockerfile it was built from.
	Dockerfile string `json:"dockerfile"`
	// BuildArgs are the --build-arg values passed.
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	// Refs maps a transport label to a strata reference that opens this
	// same image: "registry" (127.0.0.1:5000/…), "docker-daemon"
	// (docker-daemon:REF against STRATA_TEST_DOCKER_HOST), "podman-daemon"
	// (against STRATA_TEST_PODMAN_HOST), "docker29-daemon" (against
	// STRATA_TEST_DOCKER29_HOST: the containerd image store), "docker-archive",
	// "docker-archive-gzip", "docker-archive-zstd", "docker29-archive" (a
	// Docker 29 save: OCI layout + manifest.json), "oci-archive", "oci-layout",
	// "oci-layout-zstd", …
	Refs map[string]string `json:"refs"`
}

// BuiltRef is the reference that opens the image of test Dockerfile name
// built by builder, through transport label ("registry", "docker-archive",
// …); the test fails when there is none.
func BuiltRef(t testing.TB, name, builder, label string) string {
	t.Helper()
	for _, img := range BuiltImages(t) {
		if img.Name == name && img.Builder == builder && img.Refs[label] != "" {
			return img.Refs[label]
		}
	}
	t.Fatalf("no %s image of %s built by %s", label, name, builder)
	return ""
}

// BuiltImages reads $STRATA_TEST_IMAGES/images.json (see Service for how a
// missing variable is handled).
func BuiltImages(t testing.TB) []BuiltImage {
	t.Helper()
	dir := Service(t, "STRATA_TEST_IMAGES")
	b, err := os.ReadFile(filepath.Join(dir, "images.json"))
	if err != nil {
		t.Fatalf("read built images: %v", err)
	}
	var out []BuiltImage
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("parse %s/images.json: %v", dir, err)
	}
	return out
}
