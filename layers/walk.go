package layers

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Record is one tar entry as a layer states it: a file-system entry, a
// whiteout deleting Path (and everything below it), or an opaque marker
// hiding everything lower layers put below directory Path.
type Record struct {
	Entry
	Whiteout bool `json:"whiteout,omitempty"`
	Opaque   bool `json:"opaque,omitempty"`
	// Offset is where the entry's content starts in the uncompressed tar
	// stream (just past its headers), so an index can read it back later
	// without walking the layer again.
	Offset int64 `json:"-"`
}

// WalkOptions tune Walk.
type WalkOptions struct {
	// Hash reports whether the content of the regular file at path should
	// be hashed. nil hashes nothing; hashing is the only reason content is
	// read at all, so callers ask only where a comparison needs it.
	Hash func(path string) bool
	// MaxSparse bounds the bytes of sparse entries hashed in one layer
	// (their holes are read as zeros); 0 means DefaultMaxSparse.
	MaxSparse int64
	// Fingerprint reads every regular file's content for its xxhash64
	// (Entry.Fingerprint), sha256 or not.
	Fingerprint bool
	// Content, if set, is handed the content of each regular file the walk
	// reads (hashed or fingerprinted) as it streams past, before the walk
	// moves on (what it leaves unread is still hashed): a caller that wants
	// a few files' bytes gets them from the same single pass.
	Content func(rec Record, r io.Reader)
}

// DefaultMaxSparse is how many bytes of sparse files Walk hashes per layer.
// A sparse entry stores its data and a map of holes; its size is whatever
// the header claims (9×10^18 bytes in a hostile layer), and hashing it
// means reading every hole as zeros. No builder writes sparse entries.
const DefaultMaxSparse = 1 << 30

// Stats counts what a walk consumed.
type Stats struct {
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"` // tar stream bytes read, padding and trailer included
}

// Walk streams a layer tar, calling fn for each entry in tar order. eStargz
// bookkeeping entries and aufs metadata are skipped; whiteouts come back as
// records with Whiteout or Opaque set. The stream is read to its end even
// after the tar trailer, so a digest-verifying reader gets to check it.
func Walk(r io.Reader, opts WalkOptions, fn func(Record) error) (Stats, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	var st Stats
	// Hardlinks carry no content; they take size and digest from their
	// target, which a well-formed layer has written earlier. Every file
	// may be a target, so the digest is kept raw (32 bytes, not its
	// 71-byte text) and spelled out only for the hardlinks that ask.
	type content struct {
		size   int64
		sum    [sha256.Size]byte
		hashed bool
		fp     uint64
	}
	targets := map[string]content{}
	buf := make([]byte, 64<<10)
	sparseLeft := opts.MaxSparse
	if sparseLeft <= 0 {
		sparseLeft = DefaultMaxSparse
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read tar entry after %d entries: %w", st.Entries, err)
		}
		st.Entries++
		rec, skip, err := RecordFor(hdr)
		if err != nil {
			return st, err
		}
		if skip {
			continue
		}
		// archive/tar reads nothing ahead: once Next returns, the stream
		// stands at the first byte of this entry's content.
		rec.Offset = cr.n
		switch rec.Type {
		case TypeFile:
			c := content{size: rec.Size}
			sha := opts.Hash != nil && opts.Hash(rec.Path)
			if sha || opts.Fingerprint {
				if isSparse(hdr) {
					if hdr.Size > sparseLeft {
						return st, fmt.Errorf("tar entry %q is a sparse file claiming %d bytes: strata reads at most %d MiB of sparse files per layer, holes included", hdr.Name, hdr.Size, opts.maxSparse()>>20)
					}
					sparseLeft -= hdr.Size
				}
				sums := newSums(sha, opts.Fingerprint)
				if opts.Content != nil {
					cr := &errReader{r: io.TeeReader(tr, sums)}
					opts.Content(rec, cr)
					if cr.err != nil {
						return st, fmt.Errorf("read content of %s: %w", rec.Path, cr.err)
					}
				}
				if _, err := io.CopyBuffer(sums, tr, buf); err != nil {
					return st, fmt.Errorf("read content of %s: %w", rec.Path, err)
				}
				if sha {
					sums.sha.Sum(c.sum[:0])
					c.hashed = true
					rec.Digest = "sha256:" + hex.EncodeToString(c.sum[:])
				}
				if sums.xx != nil {
					c.fp = sums.xx.Sum64()
					rec.Fingerprint = c.fp
				}
			}
			targets[rec.Path] = c
		case TypeHardlink:
			if c, ok := targets[rec.Link]; ok {
				rec.Size = c.size
				if c.hashed {
					rec.Digest = "sha256:" + hex.EncodeToString(c.sum[:])
				}
				rec.Fingerprint = c.fp
			}
		}
		if err := fn(rec); err != nil {
			return st, err
		}
	}
	// The tar reader stops at the trailer; the rest is zero padding, but a
	// verifying reader only checks the digest once it has seen EOF. Its
	// error names the layer and what did not match: returned as it is.
	if _, err := io.CopyBuffer(io.Discard, cr, buf); err != nil {
		return st, err
	}
	st.Bytes = cr.n
	return st, nil
}

func (o WalkOptions) maxSparse() int64 {
	if o.MaxSparse > 0 {
		return o.MaxSparse
	}
	return DefaultMaxSparse
}

// isSparse reports whether hdr is a GNU sparse entry, old style or PAX.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// RecordFor maps a tar header to a record the way Walk does; skip is true
// for entries that are not part of the image's file system (the root,
// eStargz bookkeeping, aufs metadata). Tables of contents (eStargz,
// zstd:chunked) are turned into headers and go through it too, so a
// listing read from a TOC follows the same rules as one read from the tar.
// A whiteout that names no file (".wh.", ".wh..", ".wh...") is an error:
// overlay implementations read it as deleting the directory it sits in (or
// its parent, or fail), so no one reading of the layer is right.
func RecordFor(hdr *tar.Header) (rec Record, skip bool, err error) {
	p := CleanPath(hdr.Name)
	if p == "" {
		return rec, true, nil // the root directory itself
	}
	if estargzEntries[p] {
		return rec, true, nil
	}
	dir, base := Parent(p), p[strings.LastIndexByte(p, '/')+1:]
	switch {
	case base == opaqueMarker:
		// Whatever its type: overlay implementations go by the name.
		return Record{Entry: Entry{Path: dir}, Opaque: true}, false, nil
	case strings.HasPrefix(base, whiteoutMeta):
		return rec, true, nil
	case strings.HasPrefix(base, whiteoutPrefix):
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "" || target == "." || target == ".." {
			return rec, false, fmt.Errorf("tar entry %q is a whiteout that names no file (%q): the layer is refused", hdr.Name, base)
		}
		if dir != "" {
			target = dir + "/" + target
		}
		return Record{Entry: Entry{Path: target}, Whiteout: true}, false, nil
	}
	e := Entry{
		Path:    p,
		Mode:    uint32(hdr.Mode) & 0o7777,
		UID:     hdr.Uid,
		GID:     hdr.Gid,
		ModTime: hdr.ModTime.UTC(),
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		// The tar reader has already made a legacy TypeRegA entry TypeReg.
		e.Type, e.Size = TypeFile, hdr.Size
	case tar.TypeDir:
		e.Type = TypeDir
	case tar.TypeSymlink:
		e.Type, e.Link = TypeSymlink, hdr.Linkname
	case tar.TypeLink:
		e.Type, e.Link = TypeHardlink, CleanPath(hdr.Linkname)
	case tar.TypeChar:
		e.Type = TypeChar
	case tar.TypeBlock:
		e.Type = TypeBlock
	case tar.TypeFifo:
		e.Type = TypeFIFO
	default:
		e.Type = TypeOther
	}
	return Record{Entry: e}, false, nil
}

// sums writes content to the sha256 and the fingerprint asked for.
type sums struct {
	sha hash.Hash
	xx  *xxhash.Digest
}

func newSums(sha, fingerprint bool) *sums {
	var s sums
	if sha {
		s.sha = sha256.New()
	}
	if fingerprint {
		s.xx = xxhash.New()
	}
	return &s
}

func (s *sums) Write(p []byte) (int, error) {
	if s.sha != nil {
		s.sha.Write(p)
	}
	if s.xx != nil {
		s.xx.Write(p)
	}
	return len(p), nil
}

// errReader remembers a read error the Content callback may swallow.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
