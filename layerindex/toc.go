package layerindex

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/klauspost/compress/gzip"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// Annotations that announce a table of contents on a layer descriptor.
const (
	AnnotationEStargzTOC = "containerd.io/snapshot/stargz/toc.digest"
	annEStargzTarSize    = "io.containers.estargz.uncompressed-size"
	// zstd:chunked: "offset:length:uncompressedLength:type" of the TOC, and
	// the digest of its compressed bytes. podman 4 writes the
	// io.containers.* keys, newer containers/storage the io.github.* ones.
	AnnotationZstdChunkedPosition = "io.github.containers.zstd-chunked.manifest-position"
	annZstdChunkedChecksum        = "io.github.containers.zstd-chunked.manifest-checksum"
	annZstdChunkedPositionOld     = "io.containers.zstd-chunked.manifest-position"
	annZstdChunkedChecksumOld     = "io.containers.zstd-chunked.manifest-checksum"
	// maxTOC bounds a TOC's uncompressed JSON (about 300 bytes an entry).
	maxTOC = 512 << 20
)

// HasTOC reports whether a layer descriptor announces a table of contents
// strata can list the layer from.
func HasTOC(l image.Layer) bool {
	return l.Annotations[AnnotationEStargzTOC] != "" || zstdChunkedPosition(l) != ""
}

func zstdChunkedPosition(l image.Layer) string {
	if p := l.Annotations[AnnotationZstdChunkedPosition]; p != "" {
		return p
	}
	return l.Annotations[annZstdChunkedPositionOld]
}

// fromTOC lists a layer from its table of contents, fetching the TOC alone
// (two range requests for eStargz: footer and TOC; one for zstd:chunked).
func fromTOC(ctx context.Context, br source.BlobRanger, l image.Layer) (*Index, error) {
	if d := l.Annotations[AnnotationEStargzTOC]; d != "" {
		return readEStargzTOC(ctx, br, l, d)
	}
	return readZstdChunkedTOC(ctx, br, l)
}

func readRange(ctx context.Context, br source.BlobRanger, d string, off, n int64) ([]byte, error) {
	rc, err := br.OpenBlobRange(ctx, d, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("blob %s: asked for %d bytes at %d, got %d: %w", d, n, off, len(b), source.ErrCorrupt)
	}
	return b, nil
}

func readEStargzTOC(ctx context.Context, br source.BlobRanger, l image.Layer, tocDigest string) (*Index, error) {
	if l.Size < estargz.FooterSize {
		return nil, fmt.Errorf("eStargz layer %s: %d bytes is smaller than its footer", l.Digest, l.Size)
	}
	footer, err := readRange(ctx, br, l.Digest, l.Size-estargz.FooterSize, estargz.FooterSize)
	if err != nil {
		return nil, fmt.Errorf("eStargz footer of %s: %w", l.Digest, err)
	}
	tocOff, footerSize, err := estargz.OpenFooter(io.NewSectionReader(bytes.NewReader(footer), 0, int64(len(footer))))
	if err != nil {
		return nil, fmt.Errorf("eStargz footer of %s: %w (%w)", l.Digest, err, source.ErrCorrupt)
	}
	tocLen := l.Size - footerSize - tocOff
	if tocOff <= 0 || tocLen <= 0 || tocLen > maxTOC {
		return nil, fmt.Errorf("eStargz layer %s: TOC at %d is outside the blob: %w", l.Digest, tocOff, source.ErrCorrupt)
	}
	rc, err := br.OpenBlobRange(ctx, l.Digest, tocOff, tocLen)
	if err != nil {
		return nil, fmt.Errorf("eStargz TOC of %s: %w", l.Digest, err)
	}
	defer rc.Close()
	raw, err := estargzTOCJSON(rc)
	if err != nil {
		return nil, fmt.Errorf("eStargz TOC of %s: %w (%w)", l.Digest, err, source.ErrCorrupt)
	}
	if got := digestOf(raw); got != tocDigest {
		return nil, fmt.Errorf("eStargz TOC of %s is %s, manifest says %s: %w", l.Digest, got, tocDigest, source.ErrDigestMismatch)
	}
	var toc estargz.JTOC
	if err := json.Unmarshal(raw, &toc); err != nil {
		return nil, fmt.Errorf("eStargz TOC of %s: %w (%w)", l.Digest, err, source.ErrCorrupt)
	}
	ix := &Index{Digest: l.Digest, DiffID: l.DiffID, Format: FormatEStargz, FromTOC: true, BlobSize: l.Size, TarSize: -1}
	if n, err := strconv.ParseInt(l.Annotations[annEStargzTarSize], 10, 64); err == nil {
		ix.TarSize = n
	}
	ix.Entries, err = estargzEntries(toc.Entries, tocOff)
	return ix, err
}

// estargzTOCJSON reads stargz.index.json out of the TOC's gzip member.
func estargzTOCJSON(r io.Reader) ([]byte, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("no stargz.index.json: %w", err)
		}
		if h.Name == estargz.TOCTarName {
			b, err := io.ReadAll(io.LimitReader(tr, maxTOC+1))
			if err == nil && len(b) > maxTOC {
				err = errors.New("TOC is larger than 512 MiB")
			}
			return b, err
		}
	}
}

// estargzEntries turns TOC entries into index entries. A file's content
// starts at its entry's Offset (a gzip member start; InnerOffset into it
// when small files share a member) and ends before the next larger offset
// any entry has, or the TOC: chunks of one file follow each other.
func estargzEntries(toc []*estargz.TOCEntry, tocOff int64) ([]Entry, error) {
	var offsets []int64
	for _, e := range toc {
		if e.Offset > 0 {
			offsets = append(offsets, e.Offset)
		}
	}
	offsets = append(offsets, tocOff)
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	next := func(o int64) int64 {
		i := sort.Search(len(offsets), func(i int) bool { return offsets[i] > o })
		return offsets[min(i, len(offsets)-1)]
	}
	var out []Entry
	for k, e := range toc {
		if e.Type == "chunk" {
			continue
		}
		ent, skip, err := tocEntry(e.Type, e.Name, e.LinkName, e.Mode, e.UID, e.GID, e.Size, parse3339(e.ModTime3339))
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if e.Type == "reg" && e.Size > 0 {
			last := e
			for _, c := range toc[k+1:] {
				if c.Type != "chunk" || c.Name != e.Name {
					break
				}
				last = c
			}
			end := next(last.Offset)
			if e.Offset <= 0 || end <= e.Offset {
				return nil, fmt.Errorf("TOC entry %s has no data offset: %w", e.Name, source.ErrCorrupt)
			}
			ent.Span = Span{Offset: e.Offset, Length: end - e.Offset, Skip: e.InnerOffset}
			ent.Digest = e.Digest
		}
		out = append(out, ent)
	}
	return inheritHardlinks(out), nil
}

// emptyDigest is the content digest of an empty file, which TOCs leave out.
const emptyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// zstdChunkedEntry is one entry of a zstd:chunked TOC (containers/storage
// pkg/chunked/internal: FileMetadata).
type zstdChunkedEntry struct {
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Linkname  string     `json:"linkName,omitempty"`
	Mode      int64      `json:"mode,omitempty"`
	Size      int64      `json:"size,omitempty"`
	UID       int        `json:"uid,omitempty"`
	GID       int        `json:"gid,omitempty"`
	ModTime   *time.Time `json:"modtime,omitempty"`
	Digest    string     `json:"digest,omitempty"`
	Offset    int64      `json:"offset,omitempty"`
	EndOffset int64      `json:"endOffset,omitempty"`
}

func readZstdChunkedTOC(ctx context.Context, br source.BlobRanger, l image.Layer) (*Index, error) {
	var off, length, ulen, typ int64
	if _, err := fmt.Sscanf(zstdChunkedPosition(l), "%d:%d:%d:%d", &off, &length, &ulen, &typ); err != nil || typ != 1 {
		return nil, fmt.Errorf("zstd:chunked layer %s: manifest position %q not understood", l.Digest, zstdChunkedPosition(l))
	}
	if off <= 0 || length <= 0 || (l.Size >= 0 && off+length > l.Size) || ulen > maxTOC {
		return nil, fmt.Errorf("zstd:chunked layer %s: TOC position %d+%d is outside the blob: %w", l.Digest, off, length, source.ErrCorrupt)
	}
	compressed, err := readRange(ctx, br, l.Digest, off, length)
	if err != nil {
		return nil, fmt.Errorf("zstd:chunked TOC of %s: %w", l.Digest, err)
	}
	want := l.Annotations[annZstdChunkedChecksum]
	if want == "" {
		want = l.Annotations[annZstdChunkedChecksumOld]
	}
	if got := digestOf(compressed); want != "" && got != want {
		return nil, fmt.Errorf("zstd:chunked TOC of %s is %s, manifest says %s: %w", l.Digest, got, want, source.ErrDigestMismatch)
	}
	dec, err := newZstdReader()
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	if err := dec.Reset(bytes.NewReader(compressed)); err != nil {
		return nil, fmt.Errorf("zstd:chunked TOC of %s: %w (%w)", l.Digest, err, source.ErrCorrupt)
	}
	var toc struct {
		Version int                `json:"version"`
		Entries []zstdChunkedEntry `json:"entries"`
	}
	if err := json.NewDecoder(io.LimitReader(dec, maxTOC)).Decode(&toc); err != nil {
		return nil, fmt.Errorf("zstd:chunked TOC of %s: %w (%w)", l.Digest, err, source.ErrCorrupt)
	}
	ix := &Index{Digest: l.Digest, DiffID: l.DiffID, Format: FormatZstdChunked, FromTOC: true, BlobSize: l.Size, TarSize: -1}
	for _, e := range toc.Entries {
		if e.Type == "chunk" {
			continue
		}
		var mt time.Time
		if e.ModTime != nil {
			mt = *e.ModTime
		}
		ent, skip, err := tocEntry(e.Type, e.Name, e.Linkname, e.Mode, e.UID, e.GID, e.Size, mt)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if e.Type == "reg" && e.Size > 0 {
			if e.Offset <= 0 || e.EndOffset <= e.Offset {
				return nil, fmt.Errorf("zstd:chunked TOC entry %s has no data span: %w", e.Name, source.ErrCorrupt)
			}
			ent.Span = Span{Offset: e.Offset, Length: e.EndOffset - e.Offset}
			ent.Digest = e.Digest
		}
		ix.Entries = append(ix.Entries, ent)
	}
	ix.Entries = inheritHardlinks(ix.Entries)
	return ix, nil
}

// tocHeader rebuilds the tar header a TOC entry describes. TOC modes may
// carry the file-type bits (podman's do); RecordFor keeps the low 12.
// tocEntry turns one TOC record (eStargz and zstd:chunked share tar's
// vocabulary) into an index entry by the walker's own rules; skip reports
// an entry the walker would leave out. Content spans are the caller's.
func tocEntry(typ, name, link string, mode int64, uid, gid int, size int64, mtime time.Time) (Entry, bool, error) {
	hdr, err := tocHeader(typ, name, link, mode, uid, gid, size, mtime)
	if err != nil {
		return Entry{}, false, err
	}
	rec, skip, err := layers.RecordFor(hdr)
	if err != nil || skip {
		return Entry{}, skip, err
	}
	ent := Entry{Record: rec}
	ent.Offset = -1
	if rec.Type == layers.TypeFile && !rec.Whiteout && !rec.Opaque && size == 0 {
		ent.Digest = emptyDigest
	}
	return ent, false, nil
}

func tocHeader(typ, name, link string, mode int64, uid, gid int, size int64, mtime time.Time) (*tar.Header, error) {
	flags := map[string]byte{"dir": tar.TypeDir, "reg": tar.TypeReg, "symlink": tar.TypeSymlink,
		"hardlink": tar.TypeLink, "char": tar.TypeChar, "block": tar.TypeBlock, "fifo": tar.TypeFifo}
	f, ok := flags[typ]
	if !ok {
		return nil, fmt.Errorf("TOC entry %s has unknown type %q: %w", name, typ, source.ErrCorrupt)
	}
	if size < 0 || f != tar.TypeReg {
		size = 0
	}
	return &tar.Header{Typeflag: f, Name: name, Linkname: link, Mode: mode, Uid: uid, Gid: gid,
		Size: size, ModTime: mtime}, nil
}

// inheritHardlinks gives hardlinks their target's size and digest, as the
// tar walker does.
func inheritHardlinks(es []Entry) []Entry {
	type content struct {
		size   int64
		digest string
	}
	files := map[string]content{}
	for i := range es {
		e := &es[i]
		switch {
		case e.Whiteout || e.Opaque:
		case e.Type == layers.TypeFile:
			files[e.Path] = content{e.Size, e.Digest}
		case e.Type == layers.TypeHardlink:
			if c, ok := files[e.Link]; ok {
				e.Size, e.Digest = c.size, c.digest
			}
		}
	}
	return es
}

func parse3339(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func digestOf(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}
