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
	"github.com/strata-tool/strata/reference"
)

// blobStore is content-addressed storage: an OCI layout directory or the
// blobs inside an archive.
type blobStore interface {
	// openBlob opens the stored bytes of a blob; fs.ErrNotExist if absent.
	openBlob(d string) (io.ReadCloser, error)
	// describe names the store in errors ("OCI layout /x", "archive y.tar").
	describe() string
}

func readAllLimited(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (%w)", what, err, ErrCorrupt)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes; refusing to read it into memory: %w", what, max, ErrCorrupt)
	}
	return b, nil
}

// readVerifiedBlob reads a whole small blob and checks its digest, so a
// layout or archive with altered metadata is caught where it is read.
func readVerifiedBlob(s blobStore, d string, max int64) ([]byte, error) {
	if _, err := digest.Parse(d); err != nil {
		return nil, fmt.Errorf("%s: bad digest %q: %w", s.describe(), d, ErrCorrupt)
	}
	rc, err := s.openBlob(d)
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
	if got := digest.FromBytes(b).String(); strings.HasPrefix(d, "sha256:") && got != d {
		return nil, fmt.Errorf("%s: blob %s has content %s: %w", s.describe(), d, got, ErrDigestMismatch)
	}
	return b, nil
}

// errNoSuchName is ErrNotFound for a name lookup (or an index that names
// nothing, as some Docker 25 saves write), told apart so an archive can try
// its other table of names (manifest.json) before giving up.
var errNoSuchName = fmt.Errorf("no image by that name: %w", ErrNotFound)

// selector says which image of a store the user asked for.
type selector struct {
	tag      string          // "" = the only image
	platform *image.Platform // nil = host's, or the only one
}

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

// openFromIndex resolves an image from a store whose root is an OCI index
// (index.json), honouring tags, nested indexes and platforms.
func openFromIndex(ctx context.Context, s blobStore, root []byte, sel selector) (*image.Image, error) {
	m, mt, k, err := parseManifest(root, image.MediaTypeOCIIndex)
	if err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", s.describe(), err)
	}
	if k != kindIndex {
		return nil, fmt.Errorf("%s: index.json is a %s, not an index: %w", s.describe(), mt, ErrCorrupt)
	}
	top := toIndex(m, mt, "")
	entries := top.Manifests
	if sel.tag != "" {
		var picked []image.Descriptor
		for _, d := range entries {
			for _, n := range refNames(d) {
				if reference.MatchesStored(sel.tag, n) {
					picked = append(picked, d)
					break
				}
			}
		}
		if len(picked) == 0 {
			return nil, fmt.Errorf("%s has no image named %q (it has: %s): %w", s.describe(), sel.tag, listNames(entries), errNoSuchName)
		}
		entries = picked
	}
	var desc image.Descriptor
	switch {
	case len(entries) == 0:
		return nil, fmt.Errorf("%s: index lists no images: %w", s.describe(), errNoSuchName)
	case len(entries) == 1 || allSame(entries, func(d image.Descriptor) string { return d.Digest }):
		desc = entries[0]
	case allHavePlatforms(entries):
		// The top-level index is itself a multi-platform image.
		d, err := pickPlatform(top, entries, sel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.describe(), err)
		}
		desc = d
		return openDescriptor(ctx, s, desc, top, sel)
	default:
		return nil, fmt.Errorf("%s holds %d images; name one as PATH:NAME (names: %s): %w", s.describe(), len(entries), listNames(entries), ErrAmbiguous)
	}
	return openDescriptor(ctx, s, desc, nil, sel)
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

// pickPlatform chooses within an index. With no platform asked for and a
// single runnable manifest there is nothing to choose.
func pickPlatform(ix *image.Index, entries []image.Descriptor, sel selector) (image.Descriptor, error) {
	if sel.platform == nil && len(entries) == 1 {
		return entries[0], nil
	}
	want := image.HostPlatform()
	if sel.platform != nil {
		want = *sel.platform
	}
	sub := *ix
	sub.Manifests = entries
	return choosePlatform(&sub, want)
}

// openDescriptor follows a descriptor through nested indexes to an image.
func openDescriptor(ctx context.Context, s blobStore, d image.Descriptor, parent *image.Index, sel selector) (*image.Image, error) {
	for depth := 0; depth < 8; depth++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := readVerifiedBlob(s, d.Digest, maxMetadata)
		if err != nil {
			return nil, err
		}
		m, mt, k, err := parseManifest(b, d.MediaType)
		if err != nil {
			return nil, fmt.Errorf("%s: manifest %s: %w", s.describe(), d.Digest, err)
		}
		if k == kindIndex {
			if m.ArtifactType != "" {
				return nil, fmt.Errorf("%s: %s is an index of %s artifacts, not a container image: %w", s.describe(), d.Digest, m.ArtifactType, ErrUnsupported)
			}
			ix := toIndex(m, mt, d.Digest)
			next, err := pickPlatform(ix, ix.Manifests, sel)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.describe(), err)
			}
			parent, d = ix, next
			continue
		}
		return imageFromManifest(ctx, s, b, d, parent, sel)
	}
	return nil, fmt.Errorf("%s: indexes nested deeper than 8 levels: %w", s.describe(), ErrCorrupt)
}

// storeSource serves layers and blobs of an image held in a blobStore.
type storeSource struct {
	img    *image.Image
	store  blobStore
	closer func() error
	// layerPath overrides where a layer's bytes live (docker save layouts
	// name layers by path, not digest); nil means "by digest".
	layerOpen func(i int) (io.ReadCloser, error)
}

func (s *storeSource) Image() *image.Image { return s.img }

func (s *storeSource) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(s.img.Layers) {
		return nil, fmt.Errorf("layer %d: image has %d layers", i, len(s.img.Layers))
	}
	l := s.img.Layers[i]
	what := fmt.Sprintf("%s: layer %d (%s)", s.store.describe(), i, firstNonEmpty(l.Digest, l.DiffID))
	var rc io.ReadCloser
	var err error
	if s.layerOpen != nil {
		rc, err = s.layerOpen(i)
	} else {
		rc, err = s.store.openBlob(l.Digest)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is missing: %w", what, ErrNotFound)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return layerStream(rc, l.Digest, l.Size, l.DiffID, what)
}

func (s *storeSource) ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error) {
	return readVerifiedBlob(s.store, d.Digest, max)
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

// imageFromManifest builds the model from an image (or schema 1) manifest
// held in a store.
func imageFromManifest(ctx context.Context, s blobStore, b []byte, d image.Descriptor, parent *image.Index, sel selector) (*image.Image, error) {
	m, mt, k, err := parseManifest(b, d.MediaType)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", s.describe(), d.Digest, err)
	}
	switch k {
	case kindSchema1:
		return schema1Image(m, mt, d.Digest, int64(len(b)))
	case kindIndex:
		return nil, fmt.Errorf("%s: manifest %s is an index where an image was expected: %w", s.describe(), d.Digest, ErrCorrupt)
	}
	if m.Config == nil {
		return nil, fmt.Errorf("%s: manifest %s has no config: %w", s.describe(), d.Digest, ErrCorrupt)
	}
	if err := checkImageConfigType(m); err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", s.describe(), d.Digest, err)
	}
	cfg, err := readVerifiedBlob(s, m.Config.Digest, maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", d.Digest, err)
	}
	img, err := buildImage(m, mt, d.Digest, int64(len(b)), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: image %s: %w", s.describe(), d.Digest, err)
	}
	if parent != nil {
		chosen := d
		parent.Chosen = &chosen
		img.Index = parent
	}
	return img, nil
}

func digestOf(b []byte) string { return digest.FromBytes(b).String() }
