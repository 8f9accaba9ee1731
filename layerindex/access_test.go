package layerindex

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// testFiles makes a few MB of files, some compressible and some not, so
// that deflate writes many blocks and checkpoints fall mid-file.
func testFiles() []ocitest.Member {
	rng := rand.New(rand.NewSource(7))
	var ms []ocitest.Member
	ms = append(ms, ocitest.Member{Name: "data/", Type: '5', Mode: 0o755})
	for i := 0; i < 120; i++ {
		n := rng.Intn(96 << 10)
		body := make([]byte, n)
		if i%2 == 0 {
			rng.Read(body)
		} else {
			for j := range body {
				body[j] = "strata layer index "[j%19]
			}
		}
		ms = append(ms, ocitest.Member{Name: fmt.Sprintf("data/f%03d", i), Mode: 0o644, Body: body})
	}
	return ms
}

// chunks splits b into n pieces.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	size := len(b)/n + 1
	for len(b) > 0 {
		k := min(size, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

func TestRandomAccessEveryCompression(t *testing.T) {
	members := testFiles()
	tarball := ocitest.Tar(t, members...)
	multiGzip := func() []byte {
		var out []byte
		for _, c := range chunks(tarball, 5) {
			out = append(out, ocitest.Gzip(t, c)...)
		}
		return out
	}
	multiZstd := func() []byte {
		var out []byte
		for _, c := range chunks(tarball, 5) {
			out = append(out, ocitest.Zstd(t, c)...)
		}
		// a skippable frame at the end, as zstd:chunked writes its TOC
		skip := binary.LittleEndian.AppendUint32(nil, 0x184D2A50)
		skip = binary.LittleEndian.AppendUint32(skip, 5)
		return append(append(out, skip...), "hello"...)
	}
	cases := []struct {
		name      string
		blob      []byte
		mediaType string
		format    Format
		minCPs    int
	}{
		{"gzip", ocitest.Gzip(t, tarball), "application/vnd.oci.image.layer.v1.tar+gzip", FormatGzip, 8},
		{"gzip-members", multiGzip(), "application/vnd.oci.image.layer.v1.tar+gzip", FormatGzip, 8},
		{"zstd-frames", multiZstd(), "application/vnd.oci.image.layer.v1.tar+zstd", FormatZstd, 4},
		{"zstd-one-frame", ocitest.Zstd(t, tarball), "application/vnd.oci.image.layer.v1.tar+zstd", FormatZstd, 0},
		{"tar", tarball, "application/vnd.oci.image.layer.v1.tar", FormatTar, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: c.blob, Tar: tarball, MediaType: c.mediaType}})
			im := openTest(t, dir, Options{CheckpointEvery: 256 << 10})
			ix := im.Layer(0)
			if ix.Format != c.format || im.How(0) != HowBlob {
				t.Fatalf("format %s how %s, want %s from the blob", ix.Format, im.How(0), c.format)
			}
			if len(ix.Checkpoints) < c.minCPs {
				t.Fatalf("%d checkpoints, want at least %d", len(ix.Checkpoints), c.minCPs)
			}
			fs, err := im.Merge(1)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, m := range members[1:] {
				f, ok := fs.Lookup(layers.CleanPath(m.Name))
				if !ok {
					t.Fatalf("%s missing", m.Name)
				}
				// The range path itself, not the stream fallback.
				rc, err := im.openRange(context.Background(), f)
				if err != nil || rc == nil {
					t.Fatalf("%s: no range read (%v)", m.Name, err)
				}
				got, err := io.ReadAll(verified(rc, f))
				rc.Close()
				if err != nil {
					t.Fatalf("%s: %v", m.Name, err)
				}
				if !bytes.Equal(got, m.Body) {
					t.Fatalf("%s: range read gave %d bytes that differ from the %d written", m.Name, len(got), len(m.Body))
				}
				checked++
			}
			if checked != 120 {
				t.Fatalf("checked %d files", checked)
			}
			body := map[string][]byte{}
			for _, m := range members[1:] {
				body[layers.CleanPath(m.Name)] = m.Body
			}
			n := 0
			check := func(f File, r io.Reader) error {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				if !bytes.Equal(b, body[f.Path]) {
					return fmt.Errorf("%s: %d bytes that differ from the %d written", f.Path, len(b), len(body[f.Path]))
				}
				n++
				return nil
			}
			// All 120 at once: more than rangeFilesMax, so in runs (one
			// here: the files lie close together).
			if err := im.ReadFiles(context.Background(), fs.Under("data")[1:], check); err != nil || n != 120 {
				t.Fatalf("ReadFiles: %d files, %v", n, err)
			}
			// Every 40th, out of order: runs of one file each, MBs apart.
			all := fs.Under("data")[1:]
			n = 0
			if err := im.readRuns(context.Background(), 0, []File{all[80], all[0], all[119], all[40]}, check); err != nil || n != 4 {
				t.Fatalf("readRuns: %d files, %v", n, err)
			}
		})
	}
}

func openTest(t *testing.T, dir string, opts Options) *Image {
	t.Helper()
	src, err := source.Open(context.Background(), dir, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	im := New(src, opts)
	if err := im.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return im
}

// TestIndexRefusesAlteredBlobs: an index is made of verified bytes only.
func TestIndexRefusesAlteredBlobs(t *testing.T) {
	tarball := ocitest.Tar(t, ocitest.Member{Name: "a", Body: []byte("content")})
	other := ocitest.Tar(t, ocitest.Member{Name: "a", Body: []byte("CONTENT")})
	dir := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: ocitest.Gzip(t, tarball), Tar: other}})
	src, err := source.Open(context.Background(), dir, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	err = New(src, Options{}).Load(context.Background())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("diff_id")) {
		t.Fatalf("want a diff_id mismatch, got %v", err)
	}
}

// TestGzipCheckpointsResume decodes from every checkpoint of gzip streams
// written by several encoders and levels (stored blocks for random data,
// fixed and dynamic Huffman blocks) and compares with the tar itself.
func TestGzipCheckpointsResume(t *testing.T) {
	tarball := ocitest.Tar(t, testFiles()...)
	blobs := map[string][]byte{}
	for _, level := range []int{gzip.HuffmanOnly, gzip.BestSpeed, gzip.DefaultCompression, gzip.BestCompression} {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, level)
		zw.Write(tarball)
		zw.Close()
		blobs[fmt.Sprintf("klauspost-%d", level)] = buf.Bytes()
	}
	if gz, err := exec.LookPath("gzip"); err == nil {
		cmd := exec.Command(gz, "-9", "-c")
		cmd.Stdin = bytes.NewReader(tarball)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		blobs["gnu-gzip-9"] = out
	}
	for name, blob := range blobs {
		ix, err := indexBlob(bytes.NewReader(blob), image.Layer{Size: -1}, 64<<10, walkSpec{lean: false})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ix.Checkpoints) < 20 {
			t.Fatalf("%s: only %d checkpoints", name, len(ix.Checkpoints))
		}
		for i, cp := range ix.Checkpoints {
			got, err := io.ReadAll(resumeGzip(bufio.NewReader(bytes.NewReader(blob[cp.In:])), cp))
			if err != nil || !bytes.Equal(got, tarball[cp.Out:]) {
				t.Fatalf("%s: checkpoint %d (in %d, bit %d, out %d): %d bytes, %v", name, i, cp.In, cp.Bits, cp.Out, len(got), err)
			}
		}
	}
}

// TestCheckpointsStayBounded: however dense the spacing asked for, one
// layer keeps at most maxCheckpoints, still in order and still resumable.
func TestCheckpointsStayBounded(t *testing.T) {
	tarball := ocitest.Tar(t, testFiles()...)
	blob := ocitest.Gzip(t, tarball)
	ix, err := indexBlob(bytes.NewReader(blob), image.Layer{Size: -1}, 1<<10, walkSpec{lean: false})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ix.Checkpoints); n > maxCheckpoints || n < maxCheckpoints/4 {
		t.Fatalf("%d checkpoints, want between %d and %d", n, maxCheckpoints/4, maxCheckpoints)
	}
	for i, cp := range ix.Checkpoints {
		if i > 0 && (cp.Out <= ix.Checkpoints[i-1].Out || cp.In < ix.Checkpoints[i-1].In) {
			t.Fatalf("checkpoint %d out of order", i)
		}
		if i%16 != 0 {
			continue
		}
		got, err := io.ReadAll(resumeGzip(bufio.NewReader(bytes.NewReader(blob[cp.In:])), cp))
		if err != nil || !bytes.Equal(got, tarball[cp.Out:]) {
			t.Fatalf("checkpoint %d does not resume: %v", i, err)
		}
	}
}
