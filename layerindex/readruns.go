package layerindex

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/strata-tool/strata/source"
)

// runGap bounds the stretch of tar stream between two wanted files that
// is decoded and discarded rather than started afresh from a checkpoint
// with another range request; in an uncompressed blob a new range costs
// only a seek, so runs break at far smaller gaps.
const (
	runGap    = 1 << 20
	runGapTar = 64 << 10
)

// runnable: every file's content is located by its offset in the tar
// stream (not by TOC spans), so files can be read in offset order.
func runnable(group []File) bool {
	for _, f := range group {
		if f.Offset < 0 || f.Span != (Span{}) {
			return false
		}
	}
	return true
}

// readRuns reads many files of one random-access layer in offset order,
// in runs of files close together: one range request and one decoding
// from the nearest checkpoint per run, so what is read follows the files
// wanted rather than the layer's size.
func (im *Image) readRuns(ctx context.Context, layer int, group []File, fn func(File, io.Reader) error) error {
	group = append([]File(nil), group...)
	sort.Slice(group, func(i, j int) bool { return group[i].Offset < group[j].Offset })
	gap := int64(runGap)
	if im.Layer(layer).Format == FormatTar {
		gap = runGapTar
	}
	for start := 0; start < len(group); {
		end, last := start+1, group[start].Offset+group[start].Size
		for end < len(group) && group[end].Offset-last <= gap {
			last = max(last, group[end].Offset+group[end].Size)
			end++
		}
		if err := im.deliver(ctx, layer, group[start:end], last, fn); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// deliver opens one run and hands each file's verified content to fn.
func (im *Image) deliver(ctx context.Context, layer int, run []File, end int64, fn func(File, io.Reader) error) error {
	dec, pos, closeRun, err := im.openRun(ctx, layer, run[0].Offset, end)
	if err != nil {
		return fmt.Errorf("read layer %d: %w", layer, err)
	}
	defer closeRun()
	for _, f := range run {
		if f.Offset < pos {
			return fmt.Errorf("read layer %d: %s overlaps the file before it", layer, f.Path)
		}
		if _, err := io.CopyN(io.Discard, dec, f.Offset-pos); err != nil {
			return fmt.Errorf("read layer %d: decode up to %s: %w", layer, f.Path, err)
		}
		r := verified(io.NopCloser(io.LimitReader(dec, f.Size)), f)
		if err := fn(f, r); err != nil {
			return err
		}
		// fn must read to the end; what it left is read here, so the
		// check at EOF always runs.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		pos = f.Offset + f.Size
	}
	return nil
}

// openRun decodes the layer's tar stream from the last checkpoint at or
// before tar offset from, far enough to cover to; pos is the tar offset
// the decoder yields first.
func (im *Image) openRun(ctx context.Context, layer int, from, to int64) (dec io.Reader, pos int64, done func(), err error) {
	ix, l := im.Layer(layer), im.Image.Layers[layer]
	ranger := im.src.(source.BlobRanger)
	if ix.Format == FormatTar {
		rc, err := ranger.OpenBlobRange(ctx, l.Digest, from, to-from)
		if err != nil {
			return nil, 0, nil, err
		}
		return rc, from, func() { rc.Close() }, nil
	}
	cp, length := bracket(ix, from, to)
	rc, err := ranger.OpenBlobRange(ctx, l.Digest, cp.In, length)
	if err != nil {
		return nil, 0, nil, err
	}
	br := bufio.NewReaderSize(rc, 256<<10)
	if ix.Format == FormatGzip {
		return resumeGzip(br, cp), cp.Out, func() { rc.Close() }, nil
	}
	z, err := newZstdDecoder(br, nil, cp.Out)
	if err != nil {
		rc.Close()
		return nil, 0, nil, err
	}
	return z, cp.Out, func() { z.Close(); rc.Close() }, nil
}
