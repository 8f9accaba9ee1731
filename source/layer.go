package source

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compression of a stream, detected from its first bytes: media types lie
// (containerd saves keep whatever the registry served), magic numbers don't.
type compression string

const (
	compNone  compression = "none"
	compGzip  compression = "gzip"
	compZstd  compression = "zstd"
	compXz    compression = "xz"
	compBzip2 compression = "bzip2"
)

func detect(head []byte) compression {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return compGzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return compZstd
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return compXz
	case bytes.HasPrefix(head, []byte("BZh")):
		return compBzip2
	}
	return compNone
}

// decompress wraps r with the decompressor its content calls for.
func decompress(r io.Reader) (io.ReadCloser, compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, compNone, err
	}
	c := detect(head)
	switch c {
	case compGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			if selfDescribing(err) {
				return nil, c, err // the stream failed, not the gzip format
			}
			return nil, c, fmt.Errorf("gzip: %w (%w)", err, ErrCorrupt)
		}
		return zr, c, nil
	case compZstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, c, fmt.Errorf("zstd: %w (%w)", err, ErrCorrupt)
		}
		return zr.IOReadCloser(), c, nil
	case compXz:
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("xz: %w (%w)", err, ErrCorrupt)
		}
		return io.NopCloser(xr), c, nil
	case compBzip2:
		return io.NopCloser(bzip2.NewReader(br)), c, nil
	}
	return io.NopCloser(br), c, nil
}

// verifier hashes what passes through and, at EOF, compares with the
// expected digest. A short or altered stream therefore fails where it is
// read, with the digest named, instead of yielding a silently wrong tree.
// With a known size it never reads more than one byte past it: a blob
// longer than its descriptor is corrupt, and a link to /dev/zero ends.
type verifier struct {
	r      io.Reader
	h      hash.Hash // nil: size check only
	want   string
	what   string // the layer, as errors name it
	part   string // "blob" or "uncompressed tar"
	n      int64
	size   int64 // expected size, or -1
	failed error
}

// newVerifier checks r against want (if not "") and size (if >= 0). An
// unknown or malformed digest is refused here, before anything is read.
func newVerifier(r io.Reader, want, what, part string, size int64) (*verifier, error) {
	v := &verifier{r: r, want: want, what: what, part: part, size: size}
	if want != "" {
		h, err := parseDigest(want)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		v.h = h
	}
	return v, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.failed != nil {
		return 0, v.failed
	}
	if v.size >= 0 && int64(len(p)) > v.size-v.n+1 {
		p = p[:v.size-v.n+1]
	}
	n, err := v.r.Read(p)
	if v.h != nil {
		v.h.Write(p[:n])
	}
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		v.failed = &kindError{msg: fmt.Sprintf("%s: %s is longer than the %d bytes its descriptor says", v.what, v.part, v.size), kind: ErrCorrupt}
		return n, v.failed
	}
	if errors.Is(err, io.EOF) {
		if v.size >= 0 && v.n != v.size {
			v.failed = &kindError{msg: fmt.Sprintf("%s: %s ended after %d bytes, expected %d", v.what, v.part, v.n, v.size), kind: ErrCorrupt}
			return n, v.failed
		}
		if v.h != nil {
			alg, _, _ := strings.Cut(v.want, ":")
			if got := alg + ":" + hex.EncodeToString(v.h.Sum(nil)); got != v.want {
				v.failed = &kindError{msg: fmt.Sprintf("%s: %s is %s, expected %s", v.what, v.part, got, v.want), kind: ErrDigestMismatch}
				return n, v.failed
			}
		}
	} else if err != nil {
		if errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrCorrupt) {
			// From the blob's own verifier below: already says it all.
			v.failed = err
		} else if errors.Is(err, ErrTimeout) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			v.failed = fmt.Errorf("%s: %s: %w", v.what, v.part, err)
		} else {
			v.failed = fmt.Errorf("%s: %s: %w (%w)", v.what, v.part, err, ErrCorrupt)
		}
		return n, v.failed
	}
	return n, err
}

// selfDescribing reports whether err already says what failed and where:
// a verifier's or a timeout's message, or a cancellation.
func selfDescribing(err error) bool {
	var ke *kindError
	var te *TimeoutError
	return errors.As(err, &ke) || errors.As(err, &te) || errors.Is(err, context.Canceled) ||
		errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTimeout)
}

// layerStream turns a stored blob into a verified uncompressed tar stream:
// the stored bytes are checked against blobDigest and blobSize (where
// known) and the uncompressed bytes against diffID (if known).
func layerStream(stored io.ReadCloser, blobDigest string, blobSize int64, diffID, what string) (io.ReadCloser, error) {
	outer := io.Reader(stored)
	if blobDigest != "" || blobSize >= 0 {
		v, err := newVerifier(stored, blobDigest, what, "blob", blobSize)
		if err != nil {
			stored.Close()
			return nil, err
		}
		outer = v
	}
	dr, _, err := decompress(outer)
	if err != nil {
		stored.Close()
		if selfDescribing(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	inner := io.Reader(dr)
	if diffID != "" {
		v, err := newVerifier(dr, diffID, what, "uncompressed tar", -1)
		if err != nil {
			dr.Close()
			stored.Close()
			return nil, err
		}
		inner = v
	}
	return &layerReader{Reader: &drainOnEOF{r: inner, outer: outer}, closers: []io.Closer{dr, stored}}, nil
}

// drainOnEOF makes sure the compressed stream is read to its end when the
// uncompressed one ends, so the blob digest is verified even when the
// decompressor stops before trailing bytes (gzip footers, padding).
type drainOnEOF struct {
	r     io.Reader
	outer io.Reader
}

func (d *drainOnEOF) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if errors.Is(err, io.EOF) {
		if _, derr := io.Copy(io.Discard, d.outer); derr != nil {
			return n, derr
		}
	} else if err != nil && !errors.Is(err, ErrDigestMismatch) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTimeout) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (%w)", err, ErrCorrupt)
	}
	return n, err
}

type layerReader struct {
	io.Reader
	closers []io.Closer
}

func (l *layerReader) Close() error {
	var first error
	for _, c := range l.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
