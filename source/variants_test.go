package source_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// containerdSave builds what `docker save` writes with the containerd image
// store: index.json → a nested image index (named by annotation) → per
// platform manifests with gzip blobs, an attestation manifest, and an
// arm64 manifest whose blobs were not saved; manifest.json beside it.
func containerdSave(t testing.TB) (archive []byte, diffID, amdManifest string) {
	layerTar := tarOf(t, "etc/os-release", "ID=test\n")
	layer := gz(layerTar)
	diffID = sha(layerTar)
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"COPY os-release /etc/ # buildkit","comment":"buildkit.dockerfile.v0"}]}`, diffID))
	man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}],"annotations":{"org.opencontainers.image.base.name":"docker.io/library/busybox:1.36"}}`,
		image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, sha(cfg), len(cfg), image.MediaTypeOCILayerGzip, sha(layer), len(layer)))
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2"}`)
	emptyCfg := []byte(`{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:aaaa"]}}`)
	att := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d,"annotations":{"in-toto.io/predicate-type":"https://slsa.dev/provenance/v0.2"}}]}`,
		image.MediaTypeOCIManifest, image.MediaTypeOCIConfig, sha(emptyCfg), len(emptyCfg), image.MediaTypeInToto, sha(stmt), len(stmt)))
	ghost := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":10},"layers":[]}`)
	nested := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[
		{"mediaType":"%[2]s","digest":"%[3]s","size":%[4]d,"platform":{"os":"linux","architecture":"amd64"}},
		{"mediaType":"%[2]s","digest":"%[5]s","size":%[6]d,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
		{"mediaType":"%[2]s","digest":"%[7]s","size":%[8]d,"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"%[3]s"}}]}`,
		image.MediaTypeOCIIndex, image.MediaTypeOCIManifest, sha(man), len(man), sha(ghost), len(ghost), sha(att), len(att)))
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"annotations":{"io.containerd.image.name":"docker.io/library/app:1","org.opencontainers.image.ref.name":"1"}}]}`,
		image.MediaTypeOCIIndex, image.MediaTypeOCIIndex, sha(nested), len(nested))
	mf := fmt.Sprintf(`[{"Config":"blobs/sha256/%s","RepoTags":["app:1"],"Layers":["blobs/sha256/%s"]}]`, strings.TrimPrefix(sha(cfg), "sha256:"), strings.TrimPrefix(sha(layer), "sha256:"))
	blob := func(b []byte) string { return "blobs/sha256/" + strings.TrimPrefix(sha(b), "sha256:") }
	archive = tarOf(t, "oci-layout", `{"imageLayoutVersion":"1.0.0"}`, "index.json", index, "manifest.json", mf,
		blob(nested), string(nested), blob(man), string(man), blob(cfg), string(cfg), blob(layer), string(layer),
		blob(att), string(att), blob(stmt), string(stmt), blob(emptyCfg), string(emptyCfg), blob(ghost), string(ghost))
	return archive, diffID, sha(man)
}

func TestContainerdStoreSave(t *testing.T) {
	ctx := context.Background()
	ar, diffID, amdManifest := containerdSave(t)
	p := writeTemp(t, "app.tar", ar)
	for _, ref := range []string{p, p + ":app:1", p + ":docker.io/library/app:1"} {
		src, err := source.Open(ctx, ref, source.Options{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		img := src.Image()
		if img.ManifestDigest != amdManifest || img.DiffIDs()[0] != diffID || img.Index == nil ||
			len(img.Index.Manifests) != 2 || len(img.Index.Attestations) != 1 ||
			img.Annotations[image.AnnotationBaseName] != "docker.io/library/busybox:1.36" {
			t.Fatalf("%s: model %+v", ref, img)
		}
		att, ok := img.Index.AttestationFor(img.ManifestDigest)
		if !ok {
			t.Fatal("attestation not linked to its image")
		}
		b, err := src.ReadBlob(ctx, att, 1<<20)
		if err != nil || !strings.Contains(string(b), "in-toto") {
			t.Fatalf("attestation manifest: %v %s", err, b)
		}
		if img.Layers[0].UncompressedSize != -1 || img.Layers[0].MediaType != image.MediaTypeOCILayerGzip {
			t.Errorf("gzip blob layer: %+v", img.Layers[0])
		}
		if err := readAllLayers(ctx, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
	// The arm64 manifest is listed but its blobs were not saved.
	_, err := source.Open(ctx, p, source.Options{Platform: &image.Platform{OS: "linux", Architecture: "arm64"}})
	if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("arm64: %v", err)
	}
}

// TestCraneTarball: `crane pull` writes manifest.json naming the config
// "sha256:<hex>" and gzip layers "<hex>.tar.gz".
func TestCraneTarball(t *testing.T) {
	layerTar := tarOf(t, "hello", "world")
	cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"ko"}]}`, sha(layerTar))
	layer := gz(layerTar)
	hex := strings.TrimPrefix(sha(layer), "sha256:")
	mf := fmt.Sprintf(`[{"Config":"%s","RepoTags":["r.example/app:v1"],"Layers":["%s.tar.gz"]}]`, sha([]byte(cfg)), hex)
	p := writeTemp(t, "crane.tar", tarOf(t, sha([]byte(cfg)), cfg, hex+".tar.gz", string(layer), "manifest.json", mf))
	src, err := source.Open(context.Background(), p, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Image().DiffIDs()[0] != sha(layerTar) {
		t.Fatalf("model %+v", src.Image())
	}
	if err := readAllLayers(context.Background(), src); err != nil {
		t.Fatal(err)
	}
}
