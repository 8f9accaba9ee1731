package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/strata-tool/strata/image"
)

// blobStore is content-addressed storage: an OCI layout directory or the
// blobs inside an archive.
type blobStore interface {
	// openBlob opens the stored bytes of a blob; fs.ErrNotExist if absent.
	// Reading stops when ctx is cancelled.
	openBlob(ctx context.Context, d string) (io.ReadCloser, error)
	// describe names the store in errors ("OCI layout /x", "archive y.tar").
	describe() string
}

// readVerifiedBlob reads a whole small blob and checks its digest, so a
// layout or archive with altered metadata is caught where it is read.
func readVerifiedBlob(ctx context.Context, s blobStore, d string, max int64) ([]byte, error) {
	if _, err := parseDigest(d); err != nil {
		return nil, fmt.Errorf("%s: %w", s.describe(), err)
	}
	rc, err := s.openBlob(ctx, d)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: blob %s is missing: %w", s.describe(), d, ErrNotFound)
		}
		return nil, fmt.Errorf("%s: open blob %s: %w", s.describe(), d, err)
	}
	defer rc.Close()
	b, err := readAllLimited(rc, max, "blob "+d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.describe(), err)
	}
	if got, ok, err := digestMatches(d, b); err != nil {
		return nil, fmt.Errorf("%s: %w", s.describe(), err)
	} else if !ok {
		return nil, fmt.Errorf("%s: blob %s has content %s: %w", s.describe(), d, got, ErrDigestMismatch)
	}
	return b, nil
}

// errNoSuchName is ErrNotFound for a name lookup (or an index that names
// nothing, as some Docker 25 saves write), told apart so an archive can try
// its other table of names (manifest.json) before giving up.
var errNoSuchName = fmt.Errorf("no image by that name: %w", ErrNotFound)

// refNames returns the names an index entry is known by.
func refNames(d image.Descriptor) []string {
	var out []string
	for _, k := range []string{image.AnnotationRefName, "io.containerd.image.name"} {
		if v := d.Annotations[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}

func allHavePlatforms(ds []image.Descriptor) bool {
	for _, d := range ds {
		if d.Platform == nil {
			return false
		}
	}
	return true
}

func listNames(ds []image.Descriptor) string {
	var names []string
	for _, d := range ds {
		n := refNames(d)
		switch {
		case len(n) > 0:
			names = append(names, n[len(n)-1])
		case d.Platform != nil:
			names = append(names, d.Platform.String()+" "+d.Digest)
		default:
			names = append(names, d.Digest)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// storeSource serves layers and blobs of an image held in a blobStore.
type storeSource struct {
	img    *image.Image
	store  blobStore
	closer func() error
	// layerPath overrides where a layer's bytes live (docker save layouts
	// name layers by path, not digest); nil means "by digest".
	layerOpen layerOpener
}

func (s *storeSource) Image() *image.Image { return s.img }

func (s *storeSource) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(s.img.Layers) {
		return nil, fmt.Errorf("layer %d: image has %s", i, image.Count(len(s.img.Layers), "layer"))
	}
	l := s.img.Layers[i]
	what := fmt.Sprintf("%s: layer %d", s.store.describe(), i)
	var rc io.ReadCloser
	var err error
	if s.layerOpen != nil {
		rc, err = s.layerOpen(ctx, i)
	} else {
		rc, err = s.store.openBlob(ctx, l.Digest)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s (%s) is missing: %w", what, firstNonEmpty(l.Digest, l.DiffID), ErrNotFound)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return layerStream(ctxReadCloser(ctx, rc), l.Digest, l.Size, l.DiffID, what)
}

// ctxReadCloser makes a local stream stop when ctx is cancelled (Ctrl-C
// during a long layer read), checked before each read.
func ctxReadCloser(ctx context.Context, rc io.ReadCloser) io.ReadCloser {
	if ctx.Done() == nil {
		return rc
	}
	return &ctxReader{ctx: ctx, ReadCloser: rc}
}

type ctxReader struct {
	ctx context.Context
	io.ReadCloser
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.ReadCloser.Read(p)
}

func (s *storeSource) ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error) {
	return readVerifiedBlob(ctx, s.store, d.Digest, max)
}

func (s *storeSource) Close() error {
	if s.closer != nil {
		return s.closer()
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func digestOf(b []byte) string { return digest.FromBytes(b).String() }
