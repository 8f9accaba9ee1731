package layerindex

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

const (
	// DefaultCheckpointEvery is how much tar output lies between two gzip
	// checkpoints that carry a 32 KiB window (SOCI and dagdotdev use 4 MiB):
	// about 1 % of the layer, and a file read costs at most this much
	// decoding before its first byte.
	DefaultCheckpointEvery = 4 << 20
	// freeCheckpointEvery spaces checkpoints that need no window (member
	// and frame starts): they cost a few bytes each.
	freeCheckpointEvery = 1 << 20
)

// errNotIndexable says the blob is compressed in a way only the source's
// own stream understands (xz, bzip2): index that stream instead.
var errNotIndexable = errors.New("blob compression has no random access")

// walkSpec says how a pass lists a layer: lean (entries kept encoded),
// fingerprints only (no sha256 of files), and who is handed content.
type walkSpec struct {
	lean            bool
	fingerprintOnly bool
	content         ContentFunc
}

func hashEvery(string) bool { return true }

// counter counts bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// indexBlob makes the index of a whole stored blob in one pass: it detects
// the compression from the first bytes, decodes while taking checkpoints,
// walks the tar, and checks the blob against the layer's digest, size and
// diff_id, so an index is only ever made of verified bytes.
func indexBlob(blob io.Reader, l image.Layer, every int64, spec walkSpec) (*Index, error) {
	if every <= 0 {
		every = DefaultCheckpointEvery
	}
	blobHash := sha256.New()
	cr := &counter{r: io.TeeReader(blob, blobHash)}
	br := bufio.NewReaderSize(cr, 256<<10)
	pos := func() int64 { return cr.n - int64(br.Buffered()) }
	head, _ := br.Peek(4)
	ix := &Index{BlobSize: -1, TarSize: -1}
	rec := &recorder{ix: ix, every: every}
	var tarStream io.Reader
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		g := newGzipDecoder(br, pos)
		g.onMember, g.onBlock = rec.fresh, rec.block
		ix.Format, tarStream = FormatGzip, g
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := newZstdDecoder(br, pos, 0)
		if err != nil {
			return nil, err
		}
		defer z.Close()
		z.onFrame = rec.fresh
		ix.Format, tarStream = FormatZstd, z
	case looksLikeTar(br):
		ix.Format, tarStream = FormatTar, br
	default:
		return nil, errNotIndexable
	}
	// An uncompressed blob is its own tar: one hash serves as both digests.
	var tarHash hash.Hash
	tr := &counter{r: tarStream}
	if ix.Format != FormatTar {
		tarHash = sha256.New()
		tr.r = io.TeeReader(tarStream, tarHash)
	}
	if err := walkInto(ix, tr, spec); err != nil {
		return nil, err
	}
	// Whatever follows the tar's end in the blob (zstd:chunked's skippable
	// TOC frames, a gzip trailer) is part of the digest.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("read blob to its end: %w", err)
	}
	ix.BlobSize, ix.TarSize = cr.n, tr.n
	ix.Digest = sum(blobHash)
	ix.DiffID = ix.Digest
	if tarHash != nil {
		ix.DiffID = sum(tarHash)
	}
	if err := verify(ix, l); err != nil {
		return nil, err
	}
	if ix.Format == FormatTar {
		ix.Checkpoints = nil
	}
	return ix, nil
}

// indexStream indexes an already decompressed and verified tar stream
// (source.Source.OpenLayer): complete entries, no random access.
func indexStream(r io.Reader, l image.Layer, spec walkSpec) (*Index, error) {
	ix := &Index{Format: FormatStream, Digest: l.Digest, DiffID: l.DiffID, BlobSize: l.Size}
	tr := &counter{r: r}
	if err := walkInto(ix, tr, spec); err != nil {
		return nil, err
	}
	ix.TarSize = tr.n
	return ix, nil
}

// ContentFunc is handed a regular file's content while its layer is
// indexed: ord is the entry's position in the layer's entries.
type ContentFunc func(ord int, rec layers.Record, r io.Reader)

// walkInto lists the tar's entries into ix: as []Entry, or encoded as they
// stream past for a lean index (a few dozen bytes an entry). Every regular
// file gets a fingerprint, and a sha256 unless spec says fingerprints
// only; spec.content, if set, is handed their bytes in the same pass.
func walkInto(ix *Index, r io.Reader, spec walkSpec) error {
	var w entryEncoder
	lean, content := spec.lean, spec.content
	opts := layers.WalkOptions{Hash: hashEvery, Fingerprint: true}
	if spec.fingerprintOnly {
		opts.Hash, ix.PartialDigests = nil, true
	}
	if content != nil {
		opts.Content = func(rec layers.Record, r io.Reader) {
			ord := len(ix.Entries)
			if lean {
				ord = w.n
			}
			content(ord, rec, r)
		}
	}
	_, err := layers.Walk(r, opts, func(rec layers.Record) error {
		if lean {
			w.add(&Entry{Record: rec})
		} else {
			ix.Entries = append(ix.Entries, Entry{Record: rec})
		}
		return nil
	})
	if lean {
		ix.packed = &packed{n: w.n, b: w.b}
	}
	return err
}

func sum(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// verify compares what was read with what the image says the layer is. A
// legacy docker save names its layers by diff_id only: there the diff_id
// check is the whole check.
func verify(ix *Index, l image.Layer) error {
	named := strings.HasPrefix(l.Digest, "sha256:") && l.Digest != l.DiffID
	if named && ix.Digest != l.Digest {
		return fmt.Errorf("layer blob is %s, expected %s: %w", ix.Digest, l.Digest, source.ErrDigestMismatch)
	}
	if named && l.Size >= 0 && l.Size != ix.BlobSize {
		return fmt.Errorf("layer blob %s has %d bytes, expected %d: %w", l.Digest, ix.BlobSize, l.Size, source.ErrCorrupt)
	}
	if strings.HasPrefix(l.DiffID, "sha256:") && ix.DiffID != l.DiffID {
		return fmt.Errorf("layer %s uncompressed is %s, expected diff_id %s: %w", l.Digest, ix.DiffID, l.DiffID, source.ErrDigestMismatch)
	}
	return nil
}

// looksLikeTar checks for the "ustar" magic of the first header (every tar
// writer in use sets it), and accepts an empty blob or a tar that is only
// its end marker (the empty layers of legacy saves). Anything else goes to
// the source's own stream, which knows every compression.
func looksLikeTar(br *bufio.Reader) bool {
	h, _ := br.Peek(512)
	if len(h) == 0 {
		return true
	}
	return len(h) == 512 && (bytes.HasPrefix(h[257:], []byte("ustar")) || bytes.Count(h, []byte{0}) == 512)
}

// maxCheckpoints bounds the checkpoints of one layer: past it, every
// other one is dropped and the spacing doubles, so an index holds at most
// 256 windows (8 MiB) however large the layer — memory follows entries,
// not layer bytes.
const maxCheckpoints = 256

// recorder keeps checkpoints spaced out as the decoders report them.
type recorder struct {
	ix    *Index
	every int64
	free  int64
	last  int64
}

func (r *recorder) fresh(in, out int64) {
	if r.free == 0 {
		r.free = freeCheckpointEvery
	}
	if out > 0 && out-r.last >= r.free {
		r.add(Checkpoint{In: in, Out: out, Fresh: true})
	}
}

func (r *recorder) block(cp Checkpoint) {
	if cp.Out-r.last >= r.every {
		cp.Window = bytes.Clone(cp.Window)
		r.add(cp)
	}
}

func (r *recorder) add(cp Checkpoint) {
	cps := append(r.ix.Checkpoints, cp)
	r.last = cp.Out
	if len(cps) > maxCheckpoints {
		kept := cps[:0]
		for i := 1; i < len(cps); i += 2 {
			kept = append(kept, cps[i])
		}
		clear(cps[len(kept):])
		cps = kept
		r.every *= 2
		r.free = max(r.free, freeCheckpointEvery) * 2
	}
	r.ix.Checkpoints = cps
}
