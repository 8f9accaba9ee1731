package source_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// TestOpenPlatformsFetchesIndexOnce: every platform of a registry index is
// opened from one fetch of the index — ping, index, then each platform's
// manifest and config — where opening each platform on its own fetched the
// index once per platform. Attestations and unknown/unknown entries are
// not platforms.
func TestOpenPlatformsFetchesIndexOnce(t *testing.T) {
	reg := newFaultRegistry(t)
	archs := []string{"amd64", "arm64", "s390x", "ppc64le", "riscv64"}
	var adds []mutate.IndexAddendum
	for _, a := range archs {
		img := pushTestImage(t, fmt.Sprintf("%s/app/multi:%s", reg.host(), a), a)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: a}}})
	}
	att := pushTestImage(t, reg.host()+"/app/multi:att", "unknown")
	adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
	other := pushTestImage(t, reg.host()+"/app/multi:other", "unknown")
	adds = append(adds, mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	ref, _ := name.ParseReference(reg.host() + "/app/multi:v1")
	if err := remote.WriteIndex(ref, mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
	reg.reset()
	srcs, err := source.OpenPlatforms(t.Context(), ref.String(), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range srcs {
		img := s.Image()
		got = append(got, img.Platform.Architecture)
		if img.Index == nil || img.Index.Chosen == nil || img.Index.Chosen.Platform.Architecture != img.Platform.Architecture {
			t.Errorf("%s: index entry not recorded: %+v", img.Platform, img.Index)
		}
		s.Close()
	}
	slices.Sort(got)
	want := slices.Clone(archs)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
	reqs := reg.requests()
	indexFetches := 0
	for _, r := range reqs {
		if strings.HasSuffix(r, "/manifests/v1") {
			indexFetches++
		}
	}
	if indexFetches != 1 {
		t.Errorf("index fetched %d times, want once: %v", indexFetches, reqs)
	}
	// ping + index + manifest and config per platform.
	if max := 2 + 2*len(archs); len(reqs) > max {
		t.Errorf("%d requests for %d platforms, want at most %d: %v", len(reqs), len(archs), max, reqs)
	}
}

// TestOpenPlatformsBounded: a 4,000-platform index (1.2 MB) is refused with
// ErrTooLarge at once instead of opening 4,000 images; a raised bound opens
// them all from one read of the index.
func TestOpenPlatformsBounded(t *testing.T) {
	layer := gz(tarOf(t, "a", "b"))
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, sha(tarOf(t, "a", "b"))))
	man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, sha(cfg), len(cfg), image.MediaTypeOCILayerGzip, sha(layer), len(layer)))
	var entries []string
	for i := 0; i < 4000; i++ {
		entries = append(entries, fmt.Sprintf(`{"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"amd64","variant":"v%d"}}`,
			image.MediaTypeOCIManifest, sha(man), len(man), i))
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}`, image.MediaTypeOCIIndex, strings.Join(entries, ","))
	dir := ociLayout(t, index, man, cfg, layer)
	archive := writeTemp(t, "many.tar", tarOf(t, "oci-layout", `{"imageLayoutVersion":"1.0.0"}`, "index.json", index,
		"blobs/sha256/"+strings.TrimPrefix(sha(man), "sha256:"), string(man),
		"blobs/sha256/"+strings.TrimPrefix(sha(cfg), "sha256:"), string(cfg),
		"blobs/sha256/"+strings.TrimPrefix(sha(layer), "sha256:"), string(layer)))
	for _, ref := range []string{dir, archive} {
		_, err := source.OpenPlatforms(t.Context(), ref, source.Options{})
		if !errors.Is(err, source.ErrTooLarge) || !strings.Contains(err.Error(), "4000 platforms") {
			t.Errorf("%s: got %v, want ErrTooLarge naming 4000 platforms", ref, err)
		}
		srcs, err := source.OpenPlatforms(t.Context(), ref, source.Options{MaxPlatforms: 5000})
		if err != nil || len(srcs) != 4000 {
			t.Fatalf("%s: %d sources, %v", ref, len(srcs), err)
		}
		if v := srcs[3999].Image().Index.Chosen.Platform.Variant; v != "v3999" {
			t.Errorf("last platform's entry: %q", v)
		}
		for _, s := range srcs {
			s.Close()
		}
	}
}

// TestOpenPlatformsSingleImage: a single image is one Source; with a
// platform asked, the one rule applies.
func TestOpenPlatformsSingleImage(t *testing.T) {
	p := writeTemp(t, "one.tar", dockerSave(t, nil))
	srcs, err := source.OpenPlatforms(t.Context(), p, source.Options{})
	if err != nil || len(srcs) != 1 {
		t.Fatalf("%d sources, %v", len(srcs), err)
	}
	srcs[0].Close()
	_, err = source.OpenPlatforms(t.Context(), p, source.Options{Platform: &image.Platform{OS: "linux", Architecture: "arm64"}})
	if !errors.Is(err, source.ErrPlatformNotFound) || !strings.Contains(err.Error(), "holds a linux/amd64 image") {
		t.Errorf("got %v", err)
	}
}

// TestOpenPlatformsPartialSave: a containerd-store save lists an arm64
// manifest whose blobs were left out; every platform there is opened and
// the missing one is noted, not fatal.
func TestOpenPlatformsPartialSave(t *testing.T) {
	ar, _, amdManifest := containerdSave(t)
	srcs, err := source.OpenPlatforms(t.Context(), writeTemp(t, "app.tar", ar), source.Options{})
	if err != nil || len(srcs) != 1 {
		t.Fatalf("%d sources, %v", len(srcs), err)
	}
	defer srcs[0].Close()
	img := srcs[0].Image()
	if img.ManifestDigest != amdManifest || !slices.ContainsFunc(img.Notes, func(n string) bool { return strings.Contains(n, "linux/arm64/v8") }) {
		t.Errorf("got %s, notes %q", img.ManifestDigest, img.Notes)
	}
	if err := readAllLayers(t.Context(), srcs[0]); err != nil {
		t.Error(err)
	}
}

// TestOpenPlatformsThroughWrappers: indexes whose one entry has no platform
// wrap the platform index below them (containerd saves nest this way);
// a platform filter applies below the wrappers, not to them.
func TestOpenPlatformsThroughWrappers(t *testing.T) {
	var blobs [][]byte
	mans := map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		layerTar := tarOf(t, "arch", arch)
		layer := gz(layerTar)
		cfg := []byte(fmt.Sprintf(`{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, arch, sha(layerTar)))
		man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
			image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, sha(cfg), len(cfg), image.MediaTypeOCILayerGzip, sha(layer), len(layer)))
		blobs = append(blobs, layer, cfg, man)
		mans[arch] = man
	}
	platforms := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%[1]s","manifests":[{"mediaType":"%[2]s","digest":"%[3]s","size":%[4]d,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":"%[2]s","digest":"%[5]s","size":%[6]d,"platform":{"os":"linux","architecture":"arm64"}}]}`,
		image.MediaTypeOCIIndex, image.MediaTypeOCIManifest, sha(mans["amd64"]), len(mans["amd64"]), sha(mans["arm64"]), len(mans["arm64"])))
	wrapper := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		image.MediaTypeOCIIndex, image.MediaTypeOCIIndex, sha(platforms), len(platforms)))
	top := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`, image.MediaTypeOCIIndex, sha(wrapper), len(wrapper))
	dir := ociLayout(t, top, append(blobs, platforms, wrapper)...)
	arm := image.Platform{OS: "linux", Architecture: "arm64"}
	srcs, err := source.OpenPlatforms(t.Context(), dir, source.Options{Platform: &arm})
	if err != nil || len(srcs) != 1 || srcs[0].Image().Platform.Architecture != "arm64" {
		t.Fatalf("%d sources, %v", len(srcs), err)
	}
	srcs[0].Close()
	srcs, err = source.OpenPlatforms(t.Context(), dir, source.Options{})
	if err != nil || len(srcs) != 2 {
		t.Fatalf("%d sources, %v", len(srcs), err)
	}
	for _, s := range srcs {
		s.Close()
	}
}
