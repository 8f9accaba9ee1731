package layerindex

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"

	"github.com/cespare/xxhash/v2"

	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// rangeSlack is read past a gzip checkpoint that bounds a range: the
// inflater may look a few bytes ahead while finishing the last symbols.
const rangeSlack = 4 << 10

// Open streams the content of a regular file (or of the file a hardlink
// names), verified against the indexed size and sha256 at EOF. From a
// source that can read parts of blobs, only the span holding the file is
// fetched: by TOC span, from the nearest checkpoint, or by offset in an
// uncompressed blob. Otherwise the layer is streamed up to the file.
func (im *Image) Open(ctx context.Context, f File) (io.ReadCloser, error) {
	f, err := im.content(f)
	if err != nil {
		return nil, err
	}
	rc, err := im.openRange(ctx, f)
	if err == nil && rc == nil {
		rc, err = im.openStream(ctx, f)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s from layer %d: %w", f.Path, f.Layer, err)
	}
	return verified(rc, f), nil
}

// content resolves a hardlink to the regular file holding its bytes.
func (im *Image) content(f File) (File, error) {
	if f.Entry == nil {
		return f, errors.New("no such file")
	}
	if f.Type == layers.TypeFile {
		return f, nil
	}
	if f.Type != layers.TypeHardlink {
		return f, fmt.Errorf("%s is a %s, not a regular file", f.Path, f.Type)
	}
	t, err := im.linkTarget(f)
	if err == nil && t.Type != layers.TypeFile {
		err = fmt.Errorf("%s: hardlink to %s, which is a %s, not a regular file", f.Path, f.Link, t.Type)
	}
	return t, err
}

// linkTarget finds the entry a hardlink names: the last entry at the
// link's target before it in its own layer, else the one the layers below
// left there.
func (im *Image) linkTarget(f File) (File, error) {
	for layer, upTo := f.Layer, f.Ord; layer >= 0; layer-- {
		ix := im.Layer(layer)
		if ix == nil {
			break
		}
		if upTo < 0 {
			upTo = len(ix.Entries)
		}
		for j := upTo - 1; j >= 0; j-- {
			e := &ix.Entries[j]
			if e.Path != f.Link {
				continue
			}
			if e.Whiteout || e.Type == layers.TypeDir || e.Type == layers.TypeHardlink {
				return f, fmt.Errorf("%s: hardlink to %s, which is not a file", f.Path, f.Link)
			}
			return File{Entry: e, Layer: layer, Ord: j}, nil
		}
		upTo = -1
	}
	return f, fmt.Errorf("%s: hardlink to %s, which no layer holds", f.Path, f.Link)
}

// openRange reads the file's span alone; (nil, nil) when the source or the
// index offers no random access.
func (im *Image) openRange(ctx context.Context, f File) (io.ReadCloser, error) {
	ix, l := im.Layer(f.Layer), im.Image.Layers[f.Layer]
	ranger, ok := im.src.(source.BlobRanger)
	if !ok || ix == nil || l.Digest == "" || ix.Digest != l.Digest {
		return nil, nil
	}
	e := f.Entry
	switch {
	case e.Span != (Span{}):
		rc, err := ranger.OpenBlobRange(ctx, l.Digest, e.Span.Offset, e.Span.Length)
		if err != nil {
			return nil, err
		}
		if ix.Format == FormatZstdChunked {
			z, err := newZstdDecoder(bufio.NewReader(rc), nil, 0)
			if err != nil {
				rc.Close()
				return nil, err
			}
			return section(z, e.Span.Skip, e.Size, rc, z.Close)
		}
		return section(resumeGzip(bufio.NewReader(rc), Checkpoint{Fresh: true}), e.Span.Skip, e.Size, rc, nil)
	case e.Offset < 0:
		return nil, nil
	case ix.Format == FormatTar:
		return ranger.OpenBlobRange(ctx, l.Digest, e.Offset, e.Size)
	case ix.Format == FormatGzip || ix.Format == FormatZstd:
		cp, length := bracket(ix, e.Offset, e.Offset+e.Size)
		rc, err := ranger.OpenBlobRange(ctx, l.Digest, cp.In, length)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReader(rc)
		if ix.Format == FormatGzip {
			return section(resumeGzip(br, cp), e.Offset-cp.Out, e.Size, rc, nil)
		}
		z, err := newZstdDecoder(br, nil, cp.Out)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return section(z, e.Offset-cp.Out, e.Size, rc, z.Close)
	}
	return nil, nil
}

// bracket picks the last checkpoint at or before tar offset from, and how
// many blob bytes from it cover tar offset to: up to the first checkpoint
// at or after to (gzip: plus rangeSlack, as the decoder reads ahead), or
// -1 to read to the end.
func bracket(ix *Index, from, to int64) (cp Checkpoint, length int64) {
	cps := ix.Checkpoints
	i := sort.Search(len(cps), func(i int) bool { return cps[i].Out > from })
	cp = Checkpoint{Fresh: true}
	if i > 0 {
		cp = cps[i-1]
	}
	j := sort.Search(len(cps), func(j int) bool { return cps[j].Out >= to })
	if j == len(cps) {
		return cp, -1
	}
	length = cps[j].In - cp.In
	if ix.Format == FormatGzip {
		length += rangeSlack
		if ix.BlobSize >= 0 {
			length = min(length, ix.BlobSize-cp.In)
		}
	}
	return cp, length
}

// section discards skip bytes of dec and yields the next n.
func section(dec io.Reader, skip, n int64, body io.Closer, done func()) (io.ReadCloser, error) {
	if _, err := io.CopyN(io.Discard, dec, skip); err != nil {
		body.Close()
		if done != nil {
			done()
		}
		return nil, fmt.Errorf("decode up to the file: %w", err)
	}
	return &readCloser{Reader: io.LimitReader(dec, n), close: func() error {
		if done != nil {
			done()
		}
		return body.Close()
	}}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// openStream streams the layer from the source and stops at the entry:
// the n-th entry at its path, counting as the index did.
func (im *Image) openStream(ctx context.Context, f File) (io.ReadCloser, error) {
	ix := im.Layer(f.Layer)
	nth := 0
	for j := 0; j < f.Ord; j++ {
		if ix.Entries[j].Path == f.Path {
			nth++
		}
	}
	rc, err := im.src.OpenLayer(ctx, f.Layer)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(rc)
	for seen := 0; ; {
		h, err := tr.Next()
		if err != nil {
			rc.Close()
			if errors.Is(err, io.EOF) {
				err = errors.New("the layer no longer holds the indexed entry")
			}
			return nil, err
		}
		rec, skip, err := layers.RecordFor(h)
		if err != nil {
			rc.Close()
			return nil, err
		}
		if skip || rec.Path != f.Path {
			continue
		}
		if seen == nth {
			return &readCloser{Reader: tr, close: rc.Close}, nil
		}
		seen++
	}
}

// verified checks size and sha256 (the fingerprint where the index has no
// digest) at EOF, so a range read that decoded to something else (a damaged
// blob, a lying TOC) fails instead of printing it.
func verified(rc io.ReadCloser, f File) io.ReadCloser {
	v := &verifyReader{rc: rc, f: f}
	if f.Digest != "" {
		v.h = sha256.New()
	} else {
		v.xx = xxhash.New()
	}
	return v
}

type verifyReader struct {
	rc  io.ReadCloser
	h   hash.Hash
	xx  *xxhash.Digest
	f   File
	n   int64
	err error
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	if v.h != nil {
		v.h.Write(p[:n])
	} else {
		v.xx.Write(p[:n])
	}
	v.n += int64(n)
	if v.n > v.f.Size {
		v.err = fmt.Errorf("%s: more than its %d bytes: %w", v.f.Path, v.f.Size, source.ErrCorrupt)
		return n, v.err
	}
	if errors.Is(err, io.EOF) {
		if v.n != v.f.Size {
			v.err = fmt.Errorf("%s: %d bytes, expected %d: %w", v.f.Path, v.n, v.f.Size, source.ErrCorrupt)
			return n, v.err
		}
		if v.h != nil {
			if got := sum(v.h); got != v.f.Digest {
				v.err = fmt.Errorf("%s: content is %s, index says %s: %w", v.f.Path, got, v.f.Digest, source.ErrDigestMismatch)
				return n, v.err
			}
		} else if v.f.Fingerprint != 0 && v.xx.Sum64() != v.f.Fingerprint {
			v.err = fmt.Errorf("%s: content differs from what the index recorded: %w", v.f.Path, source.ErrDigestMismatch)
			return n, v.err
		}
	}
	return n, err
}

func (v *verifyReader) Close() error { return v.rc.Close() }
