package layerindex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/layers"
)

// sampleIndex is a real index (a gzip layer with checkpoints) plus entries
// of every kind the encoding has a flag for.
func sampleIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := indexBlob(bytes.NewReader(ocitest.Gzip(t, ocitest.Tar(t, testFiles()...))), image.Layer{Size: -1}, 256<<10, walkSpec{lean: false})
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.UTC)
	extra := []Entry{
		{Record: layers.Record{Entry: layers.Entry{Path: "etc/gone"}, Whiteout: true, Offset: 9000000}},
		{Record: layers.Record{Entry: layers.Entry{Path: "var/cache"}, Opaque: true, Offset: 9000512}},
		{Record: layers.Record{Entry: layers.Entry{Path: "bin/sh", Type: layers.TypeSymlink, Mode: 0o777, Link: "/bin/busybox", ModTime: mt}, Offset: 9001024}},
		{Record: layers.Record{Entry: layers.Entry{Path: "usr/bin/su", Type: layers.TypeFile, Mode: 0o4755, UID: 0, GID: 42, Size: 3,
			ModTime: mt, Digest: "sha512:abc"}, Offset: -1}, Span: Span{Offset: 100, Length: 50, Skip: 7}},
		{Record: layers.Record{Entry: layers.Entry{Path: "usr/bin/su2", Type: layers.TypeHardlink, Mode: 0o4755, UID: 65534, GID: -1,
			Link: "usr/bin/su", ModTime: time.Unix(0, 0).UTC()}, Offset: -1}},
	}
	ix.Entries = append(ix.Entries, extra...)
	ix.FromTOC, ix.PartialDigests = true, true
	return ix
}

func TestEncodingRoundTrip(t *testing.T) {
	ix := sampleIndex(t)
	b, err := Marshal(ix)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalise(got), normalise(ix)) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got.Entries[len(got.Entries)-5:], ix.Entries[len(ix.Entries)-5:])
	}
	// Compact: well under the 32 KiB windows plus 40 bytes an entry.
	if limit := len(ix.Checkpoints)*(32<<10) + len(ix.Entries)*40; len(b) > limit {
		t.Errorf("encoded index is %d bytes, want at most %d", len(b), limit)
	}
}

// normalise makes times comparable with DeepEqual.
func normalise(ix *Index) *Index {
	c := *ix
	c.Entries = append([]Entry(nil), ix.Entries...)
	for i := range c.Entries {
		c.Entries[i].ModTime = time.Unix(0, c.Entries[i].ModTime.UnixNano()).UTC()
	}
	return &c
}

// TestEncodingDamage: every truncation and many single-byte changes are
// refused as ErrCorruptIndex, never half-read, never a panic.
func TestEncodingDamage(t *testing.T) {
	b, err := Marshal(sampleIndex(t))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n += 1 + len(b)/200 {
		if _, err := Unmarshal(b[:n]); !errors.Is(err, ErrCorruptIndex) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	for i := 0; i < len(b); i += 1 + len(b)/300 {
		d := bytes.Clone(b)
		d[i] ^= 0x41
		if _, err := Unmarshal(d); !errors.Is(err, ErrCorruptIndex) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(magic + "\x01"))
	ix := &Index{Digest: "sha256:00", Entries: []Entry{{Record: layers.Record{Entry: layers.Entry{Path: "a"}}}}}
	if b, err := Marshal(ix); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Unmarshal(b) // must not panic or allocate without bound
	})
}

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := NewDirStore(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	ix := sampleIndex(t)
	d := "sha256:" + fmt.Sprintf("%064x", 1)
	if _, err := s.Get(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	if err := s.Put(ctx, d, ix); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, d)
	if err != nil || len(got.Entries) != len(ix.Entries) {
		t.Fatalf("get: %v", err)
	}
	// A damaged file is dropped and reported absent, so it gets rebuilt.
	p, _ := s.path(d)
	if err := os.WriteFile(p, []byte("STRATAIX\x01garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("damaged entry: %v", err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("damaged entry left in place (%v)", err)
	}
	for _, bad := range []string{"../../etc/passwd", "sha256:../../x", "sha256:" + fmt.Sprintf("%063x", 1) + "/", ""} {
		if err := s.Put(ctx, bad, ix); err == nil {
			t.Errorf("Put accepted digest %q", bad)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "sha256" {
			t.Errorf("unexpected %s in the store", e.Name())
		}
	}
}

// TestDirStoreEvicts: past MaxBytes the least recently used go first.
func TestDirStoreEvicts(t *testing.T) {
	ctx := context.Background()
	ix := sampleIndex(t)
	b, _ := Marshal(ix)
	s, err := NewDirStore(t.TempDir(), int64(len(b))*3+100)
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) string { return "sha256:" + fmt.Sprintf("%064x", i) }
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 3; i++ {
		if err := s.Put(ctx, key(i), ix); err != nil {
			t.Fatal(err)
		}
		p, _ := s.path(key(i))
		os.Chtimes(p, base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute))
	}
	if _, err := s.Get(ctx, key(0)); err != nil { // 0 becomes the most recent
		t.Fatal(err)
	}
	if err := s.Put(ctx, key(3), ix); err != nil {
		t.Fatal(err)
	}
	var kept []int
	for i := 0; i < 4; i++ {
		if _, err := s.Get(ctx, key(i)); err == nil {
			kept = append(kept, i)
		}
	}
	if !reflect.DeepEqual(kept, []int{0, 3}) {
		t.Fatalf("kept %v, want [0 3] (1 and 2 were least recently used)", kept)
	}
}

// TestStoreKeepsUncompressedIndex: an uncompressed layer's blob digest is
// its diff_id, the key under which a gzip copy of the same layer leaves
// its entries. Whichever copy is read first, the uncompressed layer ends
// up with its full index (range reads), and the gzip copy keeps its own.
func TestStoreKeepsUncompressedIndex(t *testing.T) {
	tarball := ocitest.Tar(t, testFiles()...)
	plain := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: tarball, Tar: tarball, MediaType: "application/vnd.oci.image.layer.v1.tar"}})
	gz := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{ocitest.GzipLayer(t, tarball)})
	for _, order := range [][]string{{plain, gz}, {gz, plain}} {
		store, err := NewDirStore(t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range append(order, plain, gz) {
			openTest(t, dir, Options{Store: store})
		}
		im := openTest(t, plain, Options{Store: store})
		if ix := im.Layer(0); im.How(0) != HowCache || !ix.HasContent() || ix.Format != FormatTar || !im.randomAccess(0) {
			t.Errorf("uncompressed layer, %s read first: how %s, format %s: no range reads", order[0], im.How(0), ix.Format)
		}
		im = openTest(t, gz, Options{Store: store})
		if ix := im.Layer(0); im.How(0) != HowCache || len(ix.Entries) == 0 {
			t.Errorf("gzip copy, %s read first: how %s", order[0], im.How(0))
		}
	}
}

// TestReadSeesEveryLayerByte: Options.Read (the progress meters' hook)
// sees each blob whole when a layer is indexed, and nothing when the
// store already holds it.
func TestReadSeesEveryLayerByte(t *testing.T) {
	l0 := ocitest.Tar(t, ocitest.Member{Name: "a", Mode: 0o644, Body: []byte(strings.Repeat("a", 70000))})
	l1 := ocitest.Tar(t, ocitest.Member{Name: "b", Mode: 0o644, Body: []byte("b")})
	blobs := [][]byte{ocitest.Gzip(t, l0), ocitest.Gzip(t, l1)}
	dir := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: blobs[0], Tar: l0}, {Blob: blobs[1], Tar: l1}})
	store, err := NewDirStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	read := map[int]int64{}
	count := func(layer int, r io.Reader) io.Reader {
		return readFunc(func(p []byte) (int, error) {
			n, err := r.Read(p)
			mu.Lock()
			read[layer] += int64(n)
			mu.Unlock()
			return n, err
		})
	}
	openTest(t, dir, Options{Store: store, Read: count})
	for i, b := range blobs {
		if read[i] != int64(len(b)) {
			t.Errorf("layer %d: Read saw %d bytes, the blob has %d", i, read[i], len(b))
		}
	}
	clear(read)
	openTest(t, dir, Options{Store: store, Read: count})
	if len(read) != 0 {
		t.Errorf("indexes in the store, yet Read saw %v", read)
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
