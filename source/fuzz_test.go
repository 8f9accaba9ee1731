package source_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-tool/strata/source"
)

// FuzzOpenArchive: whatever bytes a file holds, opening it and streaming its
// layers returns an error or an image, never a panic.
func FuzzOpenArchive(f *testing.F) {
	// Small seeds: the fuzzer mutates and minimises whole inputs, and a
	// 60 KB archive slows it to a crawl.
	layer := tarOf(f, "a", "b")
	cfg := `{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":["` + sha(layer) + `"]},"history":[{"created_by":"x"}]}`
	small := tarOf(f, "c.json", cfg, "l/layer.tar", string(layer), "manifest.json", `[{"Config":"c.json","Layers":["l/layer.tar"]}]`)
	f.Add(small)
	f.Add(gz(small))
	f.Add(small[:700])
	f.Add(tarOf(f, "repositories", `{"r":{"t":"id"}}`, "id/json", `{"id":"id"}`, "id/layer.tar", string(layer)))
	f.Add(tarOf(f, "index.json", `{"manifests":[{"digest":"sha256:00","platform":{"os":"linux","architecture":"amd64"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "x.tar")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := source.Open(context.Background(), p, source.Options{})
		if err != nil {
			return
		}
		defer src.Close()
		_ = readAllLayers(context.Background(), src)
	})
}

// FuzzOpenLayoutManifest: an OCI layout whose index points at arbitrary
// manifest bytes.
func FuzzOpenLayoutManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"config":{"digest":"sha256:00"},"layers":[{}]}`))
	f.Add([]byte(`{"schemaVersion":1,"fsLayers":[{"blobSum":"x"}],"history":[{"v1Compatibility":"{}"}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"sha256:zz","platform":{}}]}`))
	f.Fuzz(func(t *testing.T, man []byte) {
		index := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + sha(man) + `","size":1}]}`
		dir := ociLayout(t, index, man)
		src, err := source.Open(context.Background(), dir, source.Options{})
		if err != nil {
			return
		}
		defer src.Close()
		_ = readAllLayers(context.Background(), src)
	})
}
