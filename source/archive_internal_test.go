package source

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// manyLayerSave is a legacy docker save with n one-file layers.
func manyLayerSave(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	put := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	var diffIDs, paths []string
	var history []map[string]any
	for i := 0; i < n; i++ {
		var lb bytes.Buffer
		lw := tar.NewWriter(&lb)
		body := []byte(fmt.Sprintf("file %d\n", i))
		lw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		lw.Write(body)
		lw.Close()
		sum := sha256.Sum256(lb.Bytes())
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(sum[:]))
		p := fmt.Sprintf("l%d/layer.tar", i)
		paths = append(paths, p)
		put(p, lb.Bytes())
		history = append(history, map[string]any{"created_by": fmt.Sprintf("RUN step %d", i)})
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}, "history": history})
	put("config.json", cfg)
	mf, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"many:1"}, "Layers": paths}})
	put("manifest.json", mf)
	tw.Close()
	return buf.Bytes()
}

// manyLayerV1Save is a pre-1.10 docker save (repositories, <id>/json,
// <id>/layer.tar) with n layers: opening it hashes every layer.
func manyLayerV1Save(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	put := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	parent := ""
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%064x", i+1)
		var lb bytes.Buffer
		lw := tar.NewWriter(&lb)
		body := []byte(fmt.Sprintf("file %d\n", i))
		lw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		lw.Write(body)
		lw.Close()
		put(id+"/layer.tar", lb.Bytes())
		j, _ := json.Marshal(map[string]any{"id": id, "parent": parent, "architecture": "amd64", "os": "linux",
			"container_config": map[string]any{"Cmd": []string{"/bin/sh", "-c", fmt.Sprintf("echo %d", i)}}})
		put(id+"/json", j)
		parent = id
	}
	r, _ := json.Marshal(map[string]any{"many": map[string]string{"1": parent}})
	put("repositories", r)
	tw.Close()
	return buf.Bytes()
}

// TestCompressedV1ArchiveOpenedInTwoPasses: a pre-1.10 save's diff_ids are
// computed at open by hashing each layer; a 1,000-layer .tar.bz2 of one
// took 28 s to open when each layer meant decompressing from the start.
func TestCompressedV1ArchiveOpenedInTwoPasses(t *testing.T) {
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(manyLayerV1Save(t, 1000))
	b, err := cmd.Output()
	if err != nil {
		t.Skipf("bzip2 not available: %v", err)
	}
	p := filepath.Join(t.TempDir(), "v1.tar.bz2")
	os.WriteFile(p, b, 0o644)
	srcs, err := openArchive(context.Background(), p, "", selector{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srcs[0].Close()
	a := srcs[0].(*storeSource).store.(*archive)
	if n := len(srcs[0].Image().Layers); n != 1000 {
		t.Fatalf("%d layers", n)
	}
	if got := a.passes.Load(); got != 2 {
		t.Errorf("opened with %d decompressions of the archive, want 2", got)
	}
}

// TestCompressedArchiveDecompressedOnce: reading every layer of a whole-file
// compressed archive decompresses it twice in all — the scan, and one copy
// to a temporary file the layers are read from — not once per layer (a
// 1,000-layer .tar.bz2 kept `layers` busy for minutes). The copy is gone
// after Close. Over the spool limit, layers are re-streamed (still right,
// just slower).
func TestCompressedArchiveDecompressedOnce(t *testing.T) {
	const n = 300
	plain := manyLayerSave(t, n)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	inputs := map[string][]byte{"gzip": gz.Bytes(), "zstd": zs.Bytes()}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(plain)
	if b, err := cmd.Output(); err == nil {
		inputs["bzip2"] = b
	} else {
		t.Logf("bzip2 not available (%v): gzip and zstd only", err)
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "many.tar."+name)
			os.WriteFile(p, b, 0o644)
			srcs, err := openArchive(context.Background(), p, "", selector{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			src := srcs[0].(*storeSource)
			a := src.store.(*archive)
			for i := range src.img.Layers {
				rc, err := src.OpenLayer(context.Background(), i)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				rc.Close()
			}
			if got := a.passes.Load(); got != 2 {
				t.Errorf("%d layers read with %d decompressions of the archive, want 2", n, got)
			}
			spool := a.spool
			if spool == "" {
				t.Fatal("no spool made")
			}
			src.Close()
			if _, err := os.Stat(spool); !os.IsNotExist(err) {
				t.Errorf("spool %s left behind: %v", spool, err)
			}
		})
	}
	t.Run("over-spool-limit", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "many.tar.gz")
		os.WriteFile(p, inputs["gzip"], 0o644)
		srcs, err := openArchive(context.Background(), p, "", selector{}, 1024)
		if err != nil {
			t.Fatal(err)
		}
		src := srcs[0].(*storeSource)
		defer src.Close()
		for _, i := range []int{0, n - 1} {
			rc, err := src.OpenLayer(context.Background(), i)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			rc.Close()
		}
		if a := src.store.(*archive); a.spool != "" || a.passes.Load() != 3 {
			t.Errorf("spool %q, %d passes; want re-streaming (3 passes)", a.spool, a.passes.Load())
		}
	})
}
