package source_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/strata-tool/strata/source"
)

// TestMutatedArchivesFailCleanly corrupts archives of every whole-file
// compression at random (seeded, so a failure reproduces) and requires each
// open-and-stream to end in an error or an image within a deadline: never a
// panic, never a hang.
func TestMutatedArchivesFailCleanly(t *testing.T) {
	layer := tarOf(t, "a", "b", "etc/c", "d")
	cfg := `{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":["` + sha(layer) + `"]},"history":[{"created_by":"x"}]}`
	plain := tarOf(t, "c.json", cfg, "l/layer.tar", string(layer), "manifest.json", `[{"Config":"c.json","Layers":["l/layer.tar"]}]`)
	var zs, xzb bytes.Buffer
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	xw, _ := xz.NewWriter(&xzb)
	xw.Write(plain)
	xw.Close()
	ar, _, _ := containerdSave(t)
	seeds := map[string][]byte{"plain": plain, "gzip": gz(plain), "zstd": zs.Bytes(), "xz": xzb.Bytes(), "containerd": ar}
	n := 400
	if testing.Short() {
		n = 50
	}
	for name, seed := range seeds {
		rng := rand.New(rand.NewSource(int64(len(name))))
		for i := 0; i < n; i++ {
			b := append([]byte(nil), seed...)
			for k := 0; k < 1+rng.Intn(6); k++ {
				b[rng.Intn(len(b))] = byte(rng.Intn(256))
			}
			if rng.Intn(4) == 0 {
				b = b[:rng.Intn(len(b))]
			}
			p := filepath.Join(t.TempDir(), "x.tar")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan any, 1)
			go func() {
				defer func() { done <- recover() }()
				src, err := source.Open(context.Background(), p, source.Options{})
				if err == nil {
					_ = readAllLayers(context.Background(), src)
					src.Close()
				}
			}()
			select {
			case r := <-done:
				if r != nil {
					t.Fatalf("%s mutation %d panicked: %v (input %q)", name, i, r, fmt.Sprintf("%x", b))
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s mutation %d did not finish in 10 s (input %x)", name, i, b)
			}
		}
	}
}
