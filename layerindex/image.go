package layerindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// Options tune how an Image indexes its layers.
type Options struct {
	// Store keeps indexes between runs; nil reads every layer every time.
	Store Store
	// Parallel is how many layers are indexed at once (0: one per CPU,
	// at most 4).
	Parallel int
	// FingerprintOnly skips the sha256 of each file when a layer is read
	// (a quarter of the CPU of a first read): files get a fingerprint that
	// answers "same content?" and checks content read back. For verbs
	// that never show digests (waste, secrets, explore, cat, extract);
	// Index.PartialDigests marks such indexes, and a verb without this
	// option reads such a layer again.
	FingerprintOnly bool
	// NoTOC reads layers that carry a table of contents in full anyway.
	NoTOC bool
	// CheckpointEvery spaces gzip checkpoints (0: DefaultCheckpointEvery).
	CheckpointEvery int64
	// Content, if set, is handed each regular file's content while a layer
	// is read to be indexed (not for indexes from the Store or a TOC), so
	// a verb that wants a few files reads them in the same pass. It may be
	// called from several goroutines at once (layers index in parallel).
	Content func(layer int) ContentFunc
	// Read, if set, wraps every stream of layer bytes read to build an
	// index (blob or decompressed stream, not TOC ranges): a progress
	// meter counts through it. Called from several goroutines at once.
	Read func(layer int, r io.Reader) io.Reader
}

// How says where a layer's index came from.
type How string

// Ways a layer gets indexed.
const (
	HowCache  How = "cache"  // the Store had it
	HowTOC    How = "toc"    // read from the layer's table of contents
	HowBlob   How = "blob"   // the stored blob was read once, with checkpoints
	HowStream How = "stream" // the source's decompressed stream was read once
)

// Image is an opened image whose layers are indexed on demand. Load, then
// Layer/Merge/Changes; Open and ReadFiles read content. Safe for concurrent
// use after Load returns.
type Image struct {
	// Image is the model; Steps numbers its history as `strata layers` does.
	Image *image.Image
	Steps []history.Step

	src  source.Source
	opts Options

	mu     sync.Mutex
	layers []*Index
	how    []How
	// stepOf maps a layer index to its position in Steps.
	stepOf map[int]int
}

// New wraps an opened source. Nothing is read until Load.
func New(src source.Source, opts Options) *Image {
	img := src.Image()
	im := &Image{Image: img, Steps: history.Steps(img), src: src, opts: opts,
		layers: make([]*Index, len(img.Layers)), how: make([]How, len(img.Layers)), stepOf: map[int]int{}}
	for i, s := range im.Steps {
		if s.Layer != nil {
			im.stepOf[*s.Layer] = i
		}
	}
	if opts.FingerprintOnly && listsTOCs(src, opts) {
		im.opts.FingerprintOnly = false
	}
	return im
}

// Load indexes the given layers (all when none are given), in parallel,
// through the Store. Layers already loaded are skipped.
func (im *Image) Load(ctx context.Context, which ...int) error {
	if len(which) == 0 {
		for i := range im.layers {
			which = append(which, i)
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(im.parallel())
	for _, i := range which {
		if i < 0 || i >= len(im.layers) {
			return fmt.Errorf("layer %d: the image has %d layers (0–%d)", i, len(im.layers), len(im.layers)-1)
		}
		if im.Layer(i) != nil {
			continue
		}
		g.Go(func() error {
			ix, how, err := im.load(ctx, i, false)
			if err != nil {
				return fmt.Errorf("index layer %d (%s): %w", i, im.Image.Layers[i].Digest, err)
			}
			im.mu.Lock()
			im.layers[i], im.how[i] = ix, how
			im.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// Layer returns layer i's index, or nil when it is not loaded.
func (im *Image) Layer(i int) *Index {
	im.mu.Lock()
	defer im.mu.Unlock()
	if i < 0 || i >= len(im.layers) {
		return nil
	}
	return im.layers[i]
}

// How says where layer i's index came from ("" when not loaded).
func (im *Image) How(i int) How {
	im.mu.Lock()
	defer im.mu.Unlock()
	if i < 0 || i >= len(im.how) {
		return ""
	}
	return im.how[i]
}

// Step returns the history step that made layer i (1-based Step number
// and instruction, as `strata layers` shows them).
func (im *Image) Step(i int) (history.Step, bool) {
	j, ok := im.stepOf[i]
	if !ok {
		return history.Step{}, false
	}
	return im.Steps[j], true
}

// defaultParallel is one layer per CPU, at most 4.
func defaultParallel() int { return min(runtime.GOMAXPROCS(0), 4) }

// load finds or builds layer i's index: the Store by blob digest (full
// index), then by diff_id (entries only); else the TOC, else one pass over
// the stored blob, else one over the source's stream. A lean index (see
// Stream) is built, cached and returned without materialized entries.
func (im *Image) load(ctx context.Context, i int, lean bool) (*Index, How, error) {
	l := im.Image.Layers[i]
	if ix := im.cached(ctx, l, lean); ix != nil {
		return ix, HowCache, nil
	}
	ranger, canRange := im.src.(source.BlobRanger)
	canRange = canRange && l.Digest != ""
	if canRange && !im.opts.NoTOC && HasTOC(l) {
		ix, err := fromTOC(ctx, ranger, l)
		if err == nil {
			im.keep(ctx, l, ix)
			return leanIf(ix, lean), HowTOC, nil
		}
		if ctx.Err() != nil {
			return nil, "", err
		}
		// A damaged or unreadable TOC: the layer itself still decides.
	}
	if canRange {
		rc, err := ranger.OpenBlobRange(ctx, l.Digest, 0, -1)
		if err != nil {
			return nil, "", err
		}
		ix, err := indexBlob(im.reader(ctx, i, rc), l, im.opts.CheckpointEvery, im.spec(i, lean))
		rc.Close()
		if err == nil {
			im.keep(ctx, l, ix)
			return leanIf(ix, lean), HowBlob, nil
		}
		if !errors.Is(err, errNotIndexable) {
			return nil, "", err
		}
	}
	rc, err := im.src.OpenLayer(ctx, i)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	ix, err := indexStream(im.reader(ctx, i, rc), l, im.spec(i, lean))
	if err != nil {
		return nil, "", err
	}
	im.keep(ctx, l, ix)
	return leanIf(ix, lean), HowStream, nil
}

func leanIf(ix *Index, lean bool) *Index {
	if lean {
		return ix.lean()
	}
	return ix
}

// spec is how layer i is read when it has to be.
func (im *Image) spec(i int, lean bool) walkSpec {
	s := walkSpec{lean: lean, fingerprintOnly: im.opts.FingerprintOnly}
	if im.opts.Content != nil {
		s.content = im.opts.Content(i)
	}
	return s
}

// listsTOCs reports whether some layers of src will be listed from a TOC
// (sha256 only, no fingerprint): then FingerprintOnly is dropped and read
// layers get sha256 too, or files of the two kinds could not be compared.
func listsTOCs(src source.Source, opts Options) bool {
	if _, ranged := src.(source.BlobRanger); !ranged || opts.NoTOC {
		return false
	}
	for _, l := range src.Image().Layers {
		if HasTOC(l) {
			return true
		}
	}
	return false
}

// cached looks the layer up by blob digest, then by diff_id. An index
// whose diff_id disagrees with the layer's is not this layer's.
func (im *Image) cached(ctx context.Context, l image.Layer, lean bool) *Index {
	if im.opts.Store == nil {
		return nil
	}
	get := im.opts.Store.Get
	if lg, ok := im.opts.Store.(leanGetter); ok && lean {
		get = lg.getLean
	}
	for _, key := range []string{l.Digest, l.DiffID} {
		if key == "" {
			continue
		}
		ix, err := get(ctx, key)
		if err != nil || (l.DiffID != "" && ix.DiffID != "" && ix.DiffID != l.DiffID) {
			continue
		}
		if ix.PartialDigests && !im.opts.FingerprintOnly {
			// Read again for the digests; the full index replaces it.
			return nil
		}
		if key == l.Digest && ix.Digest != l.Digest {
			if _, ranged := im.src.(source.BlobRanger); ranged && key == l.DiffID {
				// The entries another compression of this layer left
				// under its diff_id, which is this uncompressed blob's
				// digest: index the blob itself once, for range reads.
				continue
			}
			ix = ix.entriesOnly()
		}
		return leanIf(ix, lean)
	}
	return nil
}

// keep stores a new index under the blob digest, and its entries under the
// diff_id for other compressions of the same layer. TOC listings stay
// with their blob: their mtimes are rounded. Failing to cache is not an
// error of the verb.
func (im *Image) keep(ctx context.Context, l image.Layer, ix *Index) {
	s := im.opts.Store
	if s == nil {
		return
	}
	if l.Digest != "" && ix.Digest == l.Digest {
		_ = s.Put(ctx, l.Digest, ix)
	}
	if l.DiffID != "" && l.DiffID != l.Digest && !ix.FromTOC && !fullAt(ctx, s, l.DiffID) {
		_ = s.Put(ctx, l.DiffID, ix.entriesOnly())
	}
}

// fullAt reports whether the store already holds, under the diff_id, the
// full index of the uncompressed blob of that digest (a docker save or an
// uncompressed layout keeps layers so): entries alone must not replace it,
// or its range reads are lost for every later run.
func fullAt(ctx context.Context, s Store, diffID string) bool {
	ix, err := s.Get(ctx, diffID)
	return err == nil && ix.Digest == diffID && ix.HasContent()
}

// reader is what indexing reads layer i's bytes through: cancellable, and
// counted by Options.Read when set.
func (im *Image) reader(ctx context.Context, i int, r io.Reader) io.Reader {
	var cr io.Reader = ctxReader{ctx, r}
	if im.opts.Read != nil {
		cr = im.opts.Read(i, cr)
	}
	return cr
}

// ctxReader stops a long local read (a layer in a file) when the context is
// cancelled; network bodies stop by themselves.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
