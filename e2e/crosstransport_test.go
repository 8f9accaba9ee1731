package e2e

import (
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// allBuilders are the builders scripts/build-test-images.sh drives. Under
// STRATA_REQUIRE_SERVICES=1 each must have built at least one image, so a
// builder that silently failed to start cannot turn the run green; so must
// docker29-buildkit (docker29's BuildKit via buildx) when docker29 runs.
var allBuilders = []string{"classic", "buildkit-dockerd", "buildkit", "buildkit-provenance",
	"podman", "podman-nolayers", "buildah", "buildah-layers", "buildah-squash", "buildah-squash-all"}

// loss is what one transport legitimately cannot carry for one image. Each
// dropped field is not compared with the registry's config; instead the test
// asserts strata reports it as absent, so a loss stays a loss and is never
// papered over with a guess.
type loss struct {
	dropped      []string // model fields the transport drops
	noEmptyLayer bool     // history comes without the empty_layer flag
	why          string
}

// transportLoss says what a transport (an images.json ref label) loses, as
// measured here with skopeo inspect --config and the daemons' APIs:
//
//   - docker-daemon and docker29-daemon: the Engine API's image history has
//     no empty_layer flag (an empty step and a whiteout-only RUN both show
//     Size 0), so only the created_by texts can be held to the config's. The
//     containerd image store behind docker29 has the config, flags and all,
//     but its API answers in the same shape.
//   - podman-daemon: the same, and podman 4.3's compat image inspect leaves
//     Healthcheck, Shell and OnBuild out of Config even for Docker-format
//     images (GET /images/{name}/json returns them null where dockerd's
//     returns them).
//   - oci-archive (podman save --format oci-archive) and oci-layout /
//     oci-layout-zstd (skopeo copy to oci:): containers/image converts a
//     Docker v2s2 image's config to an OCI config on the way, and the OCI
//     config has no Healthcheck, Shell or OnBuild. Images pushed with OCI
//     media types (BuildKit, buildah) are copied unconverted and lose nothing.
//
// Everything else — the registry, docker save in every compression and from
// docker29's containerd store, podman's docker-archive, crane's and
// BuildKit's layouts and tarballs — must match the registry's config exactly.
func transportLoss(label string, ref reference) loss {
	dockerV2 := ref.ManifestMediaType == image.MediaTypeDockerManifest
	switch label {
	case "docker-daemon", "docker29-daemon":
		return loss{noEmptyLayer: true, why: "Engine API history has no empty_layer"}
	case "podman-daemon":
		return loss{noEmptyLayer: true, dropped: []string{"Healthcheck", "Shell", "OnBuild"},
			why: "podman compat API: no empty_layer; inspect omits Healthcheck, Shell and OnBuild"}
	case "oci-archive", "oci-layout", "oci-layout-zstd":
		if dockerV2 {
			return loss{dropped: []string{"Healthcheck", "Shell", "OnBuild"},
				why: "containers/image converted the Docker config to OCI"}
		}
	}
	return loss{}
}

// TestCrossTransport opens every built image through every place it was put
// and holds strata's model to the registry's config, read without strata.
func TestCrossTransport(t *testing.T) {
	built := testenv.BuiltImages(t)
	if len(built) == 0 {
		t.Fatal("images.json lists no images")
	}
	if os.Getenv("STRATA_REQUIRE_SERVICES") == "1" {
		want := allBuilders
		if os.Getenv("STRATA_TEST_DOCKER29_HOST") != "" {
			want = append(slices.Clip(want), "docker29-buildkit")
		}
		for _, b := range want {
			if !slices.ContainsFunc(built, func(bi testenv.BuiltImage) bool { return bi.Builder == b }) {
				t.Errorf("builder %s built no image (see scripts/build-test-images.sh output)", b)
			}
		}
		// With docker29 up, every image must have been put there too.
		if os.Getenv("STRATA_TEST_DOCKER29_HOST") != "" {
			for _, bi := range built {
				for _, l := range []string{"docker29-daemon", "docker29-archive"} {
					if _, ok := bi.Refs[l]; !ok {
						t.Errorf("%s/%s has no %s ref although docker29 is running", bi.Name, bi.Builder, l)
					}
				}
			}
		}
	}
	for _, bi := range built {
		t.Run(bi.Name+"/"+bi.Builder, func(t *testing.T) {
			regRef, ok := bi.Refs["registry"]
			if !ok {
				t.Fatalf("%s/%s has no registry ref to take the reference model from", bi.Name, bi.Builder)
			}
			ref := fetchReference(t, regRef)
			if len(ref.Model.DiffIDs) != len(ref.LayerDigests) {
				t.Fatalf("registry itself disagrees: %d diff_ids, %d layers in the manifest", len(ref.Model.DiffIDs), len(ref.LayerDigests))
			}
			labels := make([]string, 0, len(bi.Refs))
			for l := range bi.Refs {
				labels = append(labels, l)
			}
			slices.Sort(labels)
			for _, label := range labels {
				t.Run(label, func(t *testing.T) {
					checkTransport(t, bi, label, ref)
				})
			}
		})
	}
}

func checkTransport(t *testing.T, bi testenv.BuiltImage, label string, ref reference) {
	opts := source.Options{}
	switch label {
	case "docker-daemon":
		opts.DockerHost = testenv.Service(t, "STRATA_TEST_DOCKER_HOST")
	case "docker29-daemon":
		opts.DockerHost = testenv.Service(t, "STRATA_TEST_DOCKER29_HOST")
	case "podman-daemon":
		opts.DockerHost = testenv.Service(t, "STRATA_TEST_PODMAN_HOST")
	}
	src, err := source.Open(t.Context(), bi.Refs[label], opts)
	if err != nil {
		t.Fatalf("open %s: %v", bi.Refs[label], err)
	}
	defer src.Close()
	img := src.Image()
	got := modelFromImage(img)
	l := transportLoss(label, ref)

	ignore := map[string]bool{}
	for _, f := range l.dropped {
		ignore[f] = true
	}
	if l.noEmptyLayer {
		ignore["History.EmptyLayer"] = true
	}
	if diffs := compare(ref.Model, got, ignore); len(diffs) > 0 {
		t.Errorf("%s differs from the registry's config:\n  %s", bi.Refs[label], strings.Join(diffs, "\n  "))
	}
	for _, f := range l.dropped {
		if !absent(got, f) {
			t.Errorf("%s: expected %s to be lost (%s) but strata reports %v; if the transport now keeps it, drop it from transportLoss",
				bi.Refs[label], f, l.why, field(got, f))
		}
	}

	if l.noEmptyLayer {
		// strata may infer the flag, but must say so (image.Image.Notes),
		// and how often the inference misses is worth seeing.
		if len(img.Notes) == 0 {
			t.Errorf("%s: history has no empty_layer flag here, yet the model carries no note saying its flags are inferred", bi.Refs[label])
		}
		if len(got.History) == len(ref.Model.History) {
			var wrong []string
			for i, h := range ref.Model.History {
				if got.History[i].EmptyLayer != h.EmptyLayer {
					wrong = append(wrong, h.CreatedBy)
				}
			}
			if len(wrong) > 0 {
				t.Logf("%s: empty_layer inferred wrongly for %d of %d steps: %q", bi.Refs[label], len(wrong), len(ref.Model.History), wrong)
			}
		}
	}
	if len(img.Layers) != len(ref.Model.DiffIDs) {
		t.Errorf("%d layers, the registry's config has %d diff_ids", len(img.Layers), len(ref.Model.DiffIDs))
	}
	// Pairing follows from the reference alone: history pairs one-to-one
	// exactly when its non-empty entries number the layers. Daemons cannot
	// say which entries are empty, so their pairing is strata's inference.
	if !l.noEmptyLayer {
		nonEmpty := 0
		for _, h := range ref.Model.History {
			if !h.EmptyLayer {
				nonEmpty++
			}
		}
		if wantProblem := nonEmpty != len(ref.Model.DiffIDs); wantProblem != (img.PairingProblem != "") {
			t.Errorf("pairing problem %q; the registry's config has %d non-empty history entries for %d layers",
				img.PairingProblem, nonEmpty, len(ref.Model.DiffIDs))
		}
	}
	// Where the bytes travel unchanged, the identities must too: docker keeps
	// a pulled config verbatim (its image ID is the config digest), crane
	// and docker29's containerd store keep the pushed manifest, and the
	// registry is the reference itself.
	switch label {
	case "docker29-daemon":
		// The containerd image store names an image by what the registry
		// served for the tag — the index when there is one — not by its
		// config.
		if want := registryDigest(t, bi.Refs["registry"]); img.ID != want {
			t.Errorf("image ID %s, the registry serves %s for the tag (docker29 keeps that as the image's target)", img.ID, want)
		}
	case "registry", "crane-oci-layout", "docker29-archive":
		if img.ManifestDigest != ref.ManifestDigest {
			t.Errorf("manifest digest %s, registry serves %s", img.ManifestDigest, ref.ManifestDigest)
		}
		if !slices.Equal(img.BlobDigests(), ref.LayerDigests) {
			t.Errorf("layer blobs %v, registry manifest lists %v", img.BlobDigests(), ref.LayerDigests)
		}
		fallthrough
	case "docker-daemon", "docker-archive", "docker-archive-gzip", "docker-archive-zstd":
		if img.ID != ref.ConfigDigest {
			t.Errorf("image ID %s, registry config digest %s", img.ID, ref.ConfigDigest)
		}
	}
	// Streaming every layer of every image through every transport would
	// cost a gigabyte of decompression; the COPY-only chmod images (and one
	// busybox image) are enough to show each transport's OpenLayer finds the
	// blob and passes its digest check.
	if bi.Name == "chmod" || (bi.Name == "parent" && bi.Builder == "classic") {
		if len(img.Layers) == 0 {
			t.Errorf("%s/%s has no layers to stream", bi.Name, bi.Builder)
		}
		for i := range img.Layers {
			rc, err := src.OpenLayer(t.Context(), i)
			if err != nil {
				t.Errorf("layer %d: %v", i, err)
				continue
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				t.Errorf("layer %d after %d bytes: %v", i, n, err)
			}
		}
	}
	// docker29's save keeps the index it pulled or built (nested under
	// index.json), attestation manifests included.
	if (label == "registry" || label == "docker29-archive") && ref.FromIndex {
		if img.Index == nil {
			t.Errorf("registry serves an index for %s but the model has none", bi.Refs[label])
		} else if (bi.Builder == "buildkit-provenance" || bi.Builder == "docker29-buildkit") && len(img.Index.Attestations) == 0 {
			t.Errorf("provenance build but the index in the model lists no attestation manifest")
		}
	}
}

// registryDigest is the digest of what the registry serves for the tag:
// the index when there is one, else the manifest.
func registryDigest(t *testing.T, registryRef string) string {
	t.Helper()
	host, repo, tag, err := splitRegistryRef(registryRef)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", acceptManifests)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET manifest of %s: %v", registryRef, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest of %s: status %d, err %v", registryRef, resp.StatusCode, err)
	}
	return digestOf(b)
}

func absent(m model, f string) bool {
	switch f {
	case "Healthcheck":
		return m.Healthcheck == nil
	case "Shell":
		return len(m.Shell) == 0
	case "OnBuild":
		return len(m.OnBuild) == 0
	}
	return false
}

func field(m model, f string) any {
	switch f {
	case "Healthcheck":
		return m.Healthcheck
	case "Shell":
		return m.Shell
	case "OnBuild":
		return m.OnBuild
	}
	return nil
}

// TestBuiltImagesMatchDockerfiles guards the builds themselves: the pushed
// config of each `single` image carries what testdata/builders/single says,
// so a builder that silently ignored an instruction (or a script that built
// the wrong thing) cannot make the cross-transport test pass vacuously.
func TestBuiltImagesMatchDockerfiles(t *testing.T) {
	checked := 0
	defer func() {
		if checked == 0 && !t.Skipped() {
			t.Error("images.json lists no `single` image: nothing was checked")
		}
	}()
	for _, bi := range testenv.BuiltImages(t) {
		if bi.Name != "single" {
			continue
		}
		checked++
		t.Run(bi.Builder, func(t *testing.T) {
			m := fetchReference(t, bi.Refs["registry"]).Model
			want := model{
				User:         "1000:1000",
				WorkingDir:   "/app",
				StopSignal:   "SIGTERM",
				ExposedPorts: []string{"53/udp", "8080/tcp"},
				Volumes:      []string{"/data", "/var/log/app"},
				Entrypoint:   []string{"/bin/sh", "-c"},
				Cmd:          []string{`echo "$MOTTO"`},
			}
			ignore := map[string]bool{"Platform": true, "DiffIDs": true, "Env": true, "Labels": true,
				"Healthcheck": true, "Shell": true, "OnBuild": true, "History.CreatedBy": true, "History.EmptyLayer": true}
			m2 := m
			m2.History = nil
			if d := compare(want, m2, ignore); len(d) > 0 {
				t.Errorf("pushed config does not match the Dockerfile:\n  %s", strings.Join(d, "\n  "))
			}
			for _, kv := range []string{"MOTTO=read it back", "APP_HOME=/app"} {
				if !slices.Contains(m.Env, kv) {
					t.Errorf("Env %v lacks %q", m.Env, kv)
				}
			}
			for k, v := range map[string]string{"org.opencontainers.image.title": "strata single", "com.example.team": "image forensics", "com.example.empty": ""} {
				if got, ok := m.Labels[k]; !ok || got != v {
					t.Errorf("label %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			// buildah writes OCI configs by default and drops HEALTHCHECK and
			// SHELL at build time (it warns); every other builder keeps them.
			if strings.HasPrefix(bi.Builder, "buildah") {
				if m.Healthcheck != nil || len(m.Shell) > 0 {
					t.Errorf("buildah OCI build kept Healthcheck %v / Shell %v", m.Healthcheck, m.Shell)
				}
			} else {
				if m.Healthcheck == nil || m.Healthcheck.Retries != 3 || m.Healthcheck.Interval != 30e9 {
					t.Errorf("Healthcheck %+v, want interval 30s retries 3", m.Healthcheck)
				}
				if !slices.Equal(m.Shell, []string{"/bin/ash", "-e", "-c"}) {
					t.Errorf("Shell %v", m.Shell)
				}
			}
			var spaced bool
			for _, h := range m.History {
				spaced = spaced || strings.Contains(h.CreatedBy, "SPACED=two words here")
			}
			if !spaced {
				t.Errorf("no history entry records the build arg SPACED=two words here")
			}
		})
	}
}
