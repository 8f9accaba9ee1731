package layerindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// TestFingerprintOnly: a layer read with FingerprintOnly lists every file
// with its xxhash64 and no sha256, and says so; FileDigests names a few
// files by sha256 from the kept index; a verb that needs every digest
// reads the layer again and keeps the full index, which then serves both
// kinds of verb. Expected values come from the members' bytes.
func TestFingerprintOnly(t *testing.T) {
	members := testFiles()
	tarball := ocitest.Tar(t, members...)
	for name, blob := range map[string][]byte{"gzip": ocitest.Gzip(t, tarball), "tar": tarball} {
		t.Run(name, func(t *testing.T) {
			mt := "application/vnd.oci.image.layer.v1.tar+gzip"
			if name == "tar" {
				mt = "application/vnd.oci.image.layer.v1.tar"
			}
			dir := ocitest.Layout(t, t.TempDir(), []ocitest.Layer{{Blob: blob, Tar: tarball, MediaType: mt}})
			store, err := NewDirStore(t.TempDir(), 0)
			if err != nil {
				t.Fatal(err)
			}
			body := map[string][]byte{}
			for _, m := range members {
				if m.Type == 0 {
					body[m.Name] = m.Body
				}
			}

			fast := openTest(t, dir, Options{Store: store, FingerprintOnly: true})
			ix := fast.Layer(0)
			if !ix.PartialDigests || fast.How(0) != HowBlob {
				t.Fatalf("partial %v, how %s; want a partial index read from the blob", ix.PartialDigests, fast.How(0))
			}
			files := 0
			for _, e := range ix.Entries {
				if e.Type != layers.TypeFile {
					continue
				}
				files++
				if e.Digest != "" || e.Fingerprint != xxhash.Sum64(body[e.Path]) {
					t.Errorf("%s: digest %q fingerprint %x, want none and %x", e.Path, e.Digest, e.Fingerprint, xxhash.Sum64(body[e.Path]))
				}
			}
			if files != len(body) {
				t.Fatalf("%d files listed, want %d", files, len(body))
			}
			ds, err := fast.FileDigests(context.Background(), 0, []string{"data/f007", "data/f100"})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"data/f007", "data/f100"} {
				if want := sha(body[p]); ds[p] != want {
					t.Errorf("FileDigests %s = %s, want %s", p, ds[p], want)
				}
			}

			// Content that does not match the fingerprint is refused.
			f := fileAt(t, ix, "data/f010")
			e := *f.Entry
			e.Fingerprint ^= 1
			f.Entry = &e
			rc, err := fast.Open(context.Background(), f)
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if !errors.Is(err, source.ErrDigestMismatch) {
				t.Errorf("reading against a wrong fingerprint: %v, want a digest mismatch", err)
			}

			full := openTest(t, dir, Options{Store: store})
			if full.How(0) != HowBlob || full.Layer(0).PartialDigests {
				t.Fatalf("full read: how %s, partial %v; want the blob read again for digests", full.How(0), full.Layer(0).PartialDigests)
			}
			for _, e := range full.Layer(0).Entries {
				if e.Type == layers.TypeFile && (e.Digest != sha(body[e.Path]) || e.Fingerprint != xxhash.Sum64(body[e.Path])) {
					t.Errorf("%s: digest %s fingerprint %x after the full read", e.Path, e.Digest, e.Fingerprint)
				}
			}
			again := openTest(t, dir, Options{Store: store, FingerprintOnly: true})
			if again.How(0) != HowCache || again.Layer(0).PartialDigests {
				t.Errorf("fingerprint verb after a full read: how %s, partial %v; want the full index from the store", again.How(0), again.Layer(0).PartialDigests)
			}
		})
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func fileAt(t *testing.T, ix *Index, p string) File {
	t.Helper()
	for j := range ix.Entries {
		if ix.Entries[j].Path == p {
			return File{Entry: &ix.Entries[j], Ord: j}
		}
	}
	t.Fatalf("%s not in the index", p)
	return File{}
}
