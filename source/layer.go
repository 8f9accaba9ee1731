package source

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
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
type verifier struct {
	r      io.Reader
	h      hash.Hash
	want   string
	what   string
	n      int64
	size   int64 // expected size, or -1
	failed error
}

func newVerifier(r io.Reader, want, what string, size int64) *verifier {
	return &verifier{r: r, h: sha256.New(), want: want, what: what, size: size}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.failed != nil {
		return 0, v.failed
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if errors.Is(err, io.EOF) {
		if v.size >= 0 && v.n != v.size {
			v.failed = fmt.Errorf("%s: read %d bytes, expected %d: %w", v.what, v.n, v.size, ErrCorrupt)
			return n, v.failed
		}
		if v.want != "" && strings.HasPrefix(v.want, "sha256:") {
			got := "sha256:" + hex.EncodeToString(v.h.Sum(nil))
			if got != v.want {
				v.failed = fmt.Errorf("%s: content is %s, expected %s: %w", v.what, got, v.want, ErrDigestMismatch)
				return n, v.failed
			}
		}
	} else if err != nil {
		v.failed = fmt.Errorf("%s: %w (%w)", v.what, err, ErrCorrupt)
		return n, v.failed
	}
	return n, err
}

// layerStream turns a stored blob into a verified uncompressed tar stream:
// the stored bytes are checked against blobDigest (if known) and the
// uncompressed bytes against diffID (if known).
func layerStream(stored io.ReadCloser, blobDigest string, blobSize int64, diffID, what string) (io.ReadCloser, error) {
	outer := io.Reader(stored)
	if blobDigest != "" {
		outer = newVerifier(stored, blobDigest, what+" blob", blobSize)
	}
	dr, _, err := decompress(outer)
	if err != nil {
		stored.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	inner := io.Reader(dr)
	if diffID != "" {
		inner = newVerifier(dr, diffID, what+" (uncompressed)", -1)
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
	} else if err != nil && !errors.Is(err, ErrDigestMismatch) && !errors.Is(err, ErrCorrupt) {
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
