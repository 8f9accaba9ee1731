package layerindex

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/strata-tool/strata/layers"
)

// The on-disk form of an Index: an 8-byte magic, a version byte, then one
// zstd frame holding the body. The body is varints and length-prefixed
// strings: paths front-coded against the previous entry (tar order keeps
// siblings together), content offsets as deltas, sha256 digests as 32 raw
// bytes, fingerprints as 8, ending in a CRC-32C of the body so a damaged cache file is
// recognised and rebuilt, never half-believed. About 30 bytes an entry
// before compression, and 32 KiB a gzip checkpoint.
const (
	magic         = "STRATAIX"
	formatVersion = 2
	// maxDecoded bounds what Unmarshal will inflate (a hostile or damaged
	// file must not claim gigabytes).
	maxDecoded = 1 << 30
)

// ErrCorruptIndex is returned by Unmarshal for bytes that are not a whole,
// well-formed index of this version.
var ErrCorruptIndex = errors.New("corrupt layer index")

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	dec     *zstd.Decoder
)

func codecs() {
	encOnce.Do(func() {
		// A 1 MiB window: an index's entries compress as well as with the
		// default 8 MiB, and the encoder's history stays 2 MiB, not 16.
		enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20))
		dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecoded))
	})
}

// entry flag bits.
const (
	flWhiteout = 1 << iota
	flOpaque
	flSHA256 // 32-byte digest follows
	flDigest // other digest, as a string
	flLink
	flSpan
	flFingerprint // 8-byte xxhash64 follows
)

// Marshal encodes an index in its compact on-disk form.
func Marshal(ix *Index) ([]byte, error) {
	codecs()
	var b []byte
	b = appendString(b, ix.Digest)
	b = appendString(b, ix.DiffID)
	b = appendString(b, string(ix.Format))
	b = append(b, boolByte(ix.FromTOC), boolByte(ix.PartialDigests))
	b = binary.AppendVarint(b, ix.BlobSize)
	b = binary.AppendVarint(b, ix.TarSize)
	entries, n := ix.packedEntries()
	b = binary.AppendUvarint(b, uint64(n))
	b = append(b, entries...)
	b = binary.AppendUvarint(b, uint64(len(ix.Checkpoints)))
	for _, c := range ix.Checkpoints {
		b = binary.AppendVarint(b, c.In)
		b = append(b, c.Bits, boolByte(c.Fresh))
		b = binary.AppendVarint(b, c.Out)
		b = binary.AppendUvarint(b, uint64(len(c.Window)))
		b = append(b, c.Window...)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	out := append([]byte(magic), formatVersion)
	return enc.EncodeAll(b, out), nil
}

// entryEncoder appends entries in the body's encoding: paths front-coded
// against the previous entry, content offsets as deltas.
type entryEncoder struct {
	b       []byte
	n       int
	prev    string
	prevOff int64
}

func (w *entryEncoder) add(e *Entry) {
	b := w.b
	shared := commonPrefix(w.prev, e.Path)
	b = binary.AppendUvarint(b, uint64(shared))
	b = appendString(b, e.Path[shared:])
	w.prev = e.Path
	raw, isSHA := sha256Bytes(e.Digest)
	fl := flag(e.Whiteout, flWhiteout) | flag(e.Opaque, flOpaque) | flag(isSHA, flSHA256) |
		flag(e.Digest != "" && !isSHA, flDigest) | flag(e.Link != "", flLink) | flag(e.Span != Span{}, flSpan) |
		flag(e.Fingerprint != 0, flFingerprint)
	b = append(b, byte(e.Type), fl)
	b = binary.AppendUvarint(b, uint64(e.Mode))
	b = binary.AppendVarint(b, int64(e.UID))
	b = binary.AppendVarint(b, int64(e.GID))
	b = binary.AppendVarint(b, e.Size)
	b = binary.AppendVarint(b, e.ModTime.Unix())
	b = binary.AppendUvarint(b, uint64(e.ModTime.Nanosecond()))
	b = binary.AppendVarint(b, e.Offset-w.prevOff)
	w.prevOff = e.Offset
	if fl&flLink != 0 {
		b = appendString(b, e.Link)
	}
	if isSHA {
		b = append(b, raw...)
	} else if fl&flDigest != 0 {
		b = appendString(b, e.Digest)
	}
	if fl&flSpan != 0 {
		b = binary.AppendVarint(b, e.Span.Offset)
		b = binary.AppendVarint(b, e.Span.Length)
		b = binary.AppendVarint(b, e.Span.Skip)
	}
	if fl&flFingerprint != 0 {
		b = binary.LittleEndian.AppendUint64(b, e.Fingerprint)
	}
	w.b = b
	w.n++
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Unmarshal decodes what Marshal wrote. Any damage — truncation, a flipped
// bit, another version — is ErrCorruptIndex.
func Unmarshal(data []byte) (*Index, error) {
	codecs()
	if len(data) < len(magic)+1 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a strata layer index", ErrCorruptIndex)
	}
	if v := data[len(magic)]; v != formatVersion {
		return nil, fmt.Errorf("%w: version %d, this strata reads %d", ErrCorruptIndex, v, formatVersion)
	}
	body, err := dec.DecodeAll(data[len(magic)+1:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptIndex, err)
	}
	if len(body) < 4 || crc32.Checksum(body[:len(body)-4], crcTable) != binary.LittleEndian.Uint32(body[len(body)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptIndex)
	}
	r := &reader{b: body[:len(body)-4]}
	ix := r.index()
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptIndex, r.err)
	}
	if len(r.b) != r.off {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptIndex, len(r.b)-r.off)
	}
	return ix, nil
}

func (r *reader) index() *Index {
	ix := r.header()
	n := r.count(12)
	ix.Entries = make([]Entry, n)
	// Paths and digests go into one arena each and become substrings of one
	// string at the end: two allocations instead of two per entry.
	var paths, digests []byte
	type span struct{ path, pathEnd, digest, digestEnd int }
	spans := make([]span, n)
	prevStart, prevEnd, prevOff := 0, 0, int64(0)
	for i := 0; i < n && r.err == nil; i++ {
		e := &ix.Entries[i]
		shared := int(r.uvarint())
		if shared > prevEnd-prevStart {
			r.fail("path prefix longer than the previous path")
			break
		}
		start := len(paths)
		paths = append(paths, paths[prevStart:prevStart+shared]...)
		paths = append(paths, r.rawStr()...)
		prevStart, prevEnd = start, len(paths)
		spans[i] = span{path: start, pathEnd: len(paths), digest: -1}
		fl := r.entry(e, &prevOff)
		if fl&flSHA256 != 0 {
			d := len(digests)
			digests = append(digests, "sha256:"...)
			digests = hex.AppendEncode(digests, r.bytes(32))
			spans[i].digest, spans[i].digestEnd = d, len(digests)
		} else if fl&flDigest != 0 {
			e.Digest = r.str()
		}
		r.tail(e, fl)
	}
	allPaths, allDigests := string(paths), string(digests)
	for i := range ix.Entries {
		sp := spans[i]
		ix.Entries[i].Path = allPaths[sp.path:sp.pathEnd]
		if sp.digest >= 0 {
			ix.Entries[i].Digest = allDigests[sp.digest:sp.digestEnd]
		}
	}
	m := r.count(4)
	for i := 0; i < m && r.err == nil; i++ {
		c := Checkpoint{In: r.varint(), Bits: r.byte(), Fresh: r.byte() == 1, Out: r.varint()}
		w := r.uvarint()
		if w > 32<<10 {
			r.fail("checkpoint window over 32 KiB")
			break
		}
		if w > 0 {
			c.Window = bytes.Clone(r.bytes(int(w)))
		}
		ix.Checkpoints = append(ix.Checkpoints, c)
	}
	return ix
}

// header reads what precedes the entries.
func (r *reader) header() *Index {
	return &Index{Digest: r.str(), DiffID: r.str(), Format: Format(r.str()), FromTOC: r.byte() == 1,
		PartialDigests: r.byte() == 1, BlobSize: r.varint(), TarSize: r.varint()}
}

// tail reads the span and fingerprint that end an entry.
func (r *reader) tail(e *Entry, fl byte) {
	if fl&flSpan != 0 {
		e.Span = Span{Offset: r.varint(), Length: r.varint(), Skip: r.varint()}
	}
	if fl&flFingerprint != 0 {
		e.Fingerprint = binary.LittleEndian.Uint64(r.bytes(8))
	}
}

// entry reads an entry's fixed fields (after its path) and returns its
// flags; the digest and span that follow are the caller's.
func (r *reader) entry(e *Entry, prevOff *int64) byte {
	e.Type = layers.Type(r.byte())
	fl := r.byte()
	e.Whiteout, e.Opaque = fl&flWhiteout != 0, fl&flOpaque != 0
	e.Mode = uint32(r.uvarint())
	e.UID, e.GID = int(r.varint()), int(r.varint())
	e.Size = r.varint()
	sec, nsec := r.varint(), r.uvarint()
	if nsec >= 1e9 {
		r.fail("bad nanoseconds")
	}
	e.ModTime = time.Unix(sec, int64(nsec)).UTC()
	e.Offset = *prevOff + r.varint()
	*prevOff = e.Offset
	if fl&flLink != 0 {
		e.Link = r.str()
	}
	return fl
}

// reader decodes the body with bounds checks; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.fail("truncated")
		return make([]byte, max(n, 0))
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) byte() byte { return r.bytes(1)[0] }

func (r *reader) str() string { return string(r.rawStr()) }

// rawStr is a length-prefixed string, not copied out of the body.
func (r *reader) rawStr() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off) {
		r.fail("string runs past the end")
		return nil
	}
	return r.bytes(int(n))
}

// count reads a length and refuses one the remaining bytes cannot hold at
// minSize bytes an item, so a damaged count cannot allocate gigabytes.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if n > uint64((len(r.b)-r.off)/minSize+1) {
		r.fail("count larger than the data")
		return 0
	}
	return int(n)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func sha256Bytes(d string) ([]byte, bool) {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return nil, false
	}
	raw, err := hex.DecodeString(h)
	return raw, err == nil
}

func flag(b bool, bit byte) byte {
	if b {
		return bit
	}
	return 0
}

func boolByte(b bool) byte { return flag(b, 1) }
