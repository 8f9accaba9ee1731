// Package layerindex keeps what is inside each layer, by layer digest, so a
// layer is read once however many images share it and whichever verb asks.
//
// One streaming pass over a layer blob records every tar entry — cleaned
// relative path, type, mode (with setuid/setgid/sticky), uid/gid, size,
// mtime, link target, sha256 and fingerprint of regular files (the
// fingerprint alone for verbs that never show digests), and where the entry's
// content starts in the uncompressed stream — plus decompression
// checkpoints (gzip: every few MiB of output, the compressed position and
// the 32 KiB window; zstd: frame starts), so one file can later be read back
// with a single range request. Layers that carry a table of contents
// (eStargz, zstd:chunked) are listed from the TOC alone with range requests.
// Memory grows with the number of entries, never with layer bytes.
//
// The pieces, for the verbs built on it (files, cat, extract, waste,
// explore, secrets, packages, the web server):
//
//   - Index: one layer's entries and checkpoints; Marshal/Unmarshal give its
//     compact on-disk form.
//   - Store: Get/Put by digest; DirStore is the default cache directory,
//     NewBytesStore one in a database (the catalog's).
//   - Image: an opened image whose layers are indexed on demand (in
//     parallel, through the Store); Merge gives the final file system (FS)
//     with each path's blame (layer and step), Changes what each layer
//     added, modified and deleted, Open and ReadFiles the content.
package layerindex

import (
	"github.com/strata-tool/strata/layers"
)

// Format is how an indexed blob is stored, as far as reading part of it
// again is concerned.
type Format string

// Formats.
const (
	FormatTar         Format = "tar"          // uncompressed: entry offsets are blob offsets
	FormatGzip        Format = "gzip"         // checkpoints at deflate block boundaries and member starts
	FormatZstd        Format = "zstd"         // checkpoints at frame starts
	FormatEStargz     Format = "estargz"      // listed from its TOC; entries carry compressed spans
	FormatZstdChunked Format = "zstd:chunked" // listed from its TOC; entries carry compressed spans
	// FormatStream: read through the source's decompressing stream (a
	// daemon, an xz layer): the listing is complete, nothing can be read
	// back without streaming the layer again.
	FormatStream Format = "stream"
)

// Index is what one pass over a layer (or its table of contents) learned.
// It is plain data: safe to share between goroutines once built, never
// mutated after.
type Index struct {
	// Digest is the blob the index was made from. Checkpoints and spans are
	// positions in these bytes and apply to no other blob.
	Digest string
	// DiffID is the digest of the uncompressed tar ("" when a TOC was read
	// and the layer has no diff_id at hand).
	DiffID string
	Format Format
	// FromTOC: the entries come from the layer's table of contents, which
	// the manifest's TOC digest vouches for; the layer bytes were not read.
	// TOC mtimes have whole-second precision (eStargz rounds them).
	FromTOC bool
	// PartialDigests: regular files carry a fingerprint but no sha256 (the
	// layer was read with Options.FingerprintOnly); a verb that needs
	// digests reads the layer again, once, and keeps the full index.
	PartialDigests bool
	// BlobSize is the stored size, TarSize the uncompressed tar's; -1 when
	// unknown (a TOC says nothing of the tar's padding).
	BlobSize int64
	TarSize  int64
	// Entries are in tar order, duplicates kept (the later wins).
	Entries []Entry
	// Checkpoints are in increasing order of both offsets. Decoding can
	// also always start at In=0, Out=0, which is not stored.
	Checkpoints []Checkpoint

	// packed holds the entries encoded when the index is lean (Stream):
	// Entries is then nil; Len and Each read either form.
	packed *packed
}

// Entry is one tar entry: a file-system entry, a whiteout, or an opaque
// marker (see layers.Record). Record.Offset is -1 when it came from a TOC.
type Entry struct {
	layers.Record
	// Span is where a TOC says the content lies compressed; zero when the
	// index was built from the stream.
	Span Span
}

// Span is a run of compressed bytes that decodes (gzip members or zstd
// frames, per the index format) to Skip bytes of other data followed by the
// entry's content.
type Span struct {
	Offset int64
	Length int64
	Skip   int64
}

// Checkpoint is a place in the blob where decoding can resume.
type Checkpoint struct {
	// In is the blob offset of the byte holding the next unread bit.
	In int64
	// Bits of the byte at In that belong to the previous deflate block
	// (0–7; always 0 for Fresh checkpoints).
	Bits uint8
	// Out is the tar stream offset that decoding from here produces first.
	Out int64
	// Fresh: a gzip member header or a zstd frame starts at In, and no
	// history is needed.
	Fresh bool
	// Window is the last (up to) 32 KiB of output before Out, which the
	// deflate blocks after a non-Fresh checkpoint may refer back into.
	Window []byte
}

// HasContent reports whether the index can locate content without reading
// the layer again: by offsets into an uncompressed blob or from a
// checkpoint, or by TOC spans.
func (ix *Index) HasContent() bool { return ix.Format != FormatStream }

// entriesOnly is a copy without what depends on the blob's bytes, for the
// entry kept under the diff_id: another blob with the same content (other
// compression) lists the same files but has other offsets.
func (ix *Index) entriesOnly() *Index {
	c := *ix
	c.Format, c.Checkpoints, c.Digest = FormatStream, nil, ""
	return &c
}
