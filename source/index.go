package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// DefaultMaxPlatforms bounds OpenPlatforms: real indexes list a handful of
// platforms (docker-library's widest, ~15); a hostile one lists thousands.
const DefaultMaxPlatforms = 64

// maxIndexDepth bounds nested indexes (a containerd save nests two).
const maxIndexDepth = 8

// manifestReader is what walking from an index to images needs from the
// place that holds them: a registry, or a layout/archive blob store.
type manifestReader interface {
	// manifest reads the manifest or index d names, verified against
	// d.Digest.
	manifest(ctx context.Context, d image.Descriptor) ([]byte, error)
	// config reads an image config blob, verified against d.Digest.
	config(ctx context.Context, d image.Descriptor) ([]byte, error)
	// describe names the place in errors.
	describe() string
}

// selector says which image(s) of a store or index the caller wants.
type selector struct {
	tag      string          // "" = the only image (stores only)
	platform *image.Platform // nil = host's, or the only one
	// all asks for every runnable platform (OpenPlatforms), at most max
	// of them; platform, if set, then filters.
	all bool
	max int
}

// resolve follows a descriptor through nested indexes to images: one, or
// with sel.all every runnable platform. raw is the document d names when
// the caller already has it (a registry's root manifest), else nil.
func resolve(ctx context.Context, r manifestReader, d image.Descriptor, raw []byte, parent *image.Index, sel selector, depth int) ([]*image.Image, error) {
	if depth >= maxIndexDepth {
		return nil, fmt.Errorf("%s: indexes nested deeper than %d levels: %w", r.describe(), maxIndexDepth, ErrCorrupt)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if raw == nil {
		b, err := r.manifest(ctx, d)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	m, mt, k, err := parseManifest(raw, d.MediaType)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", r.describe(), d.Digest, err)
	}
	if k != kindIndex {
		img, err := imageFromManifest(ctx, r, m, mt, k, d.Digest, int64(len(raw)))
		if err != nil {
			return nil, err
		}
		if parent != nil {
			ix := *parent // images opened from one index must not share Chosen
			chosen := d
			ix.Chosen = &chosen
			img.Index = &ix
		}
		return []*image.Image{img}, nil
	}
	if m.ArtifactType != "" {
		return nil, fmt.Errorf("%s: %s is an index of %s artifacts, not a container image: %w", r.describe(), d.Digest, m.ArtifactType, ErrUnsupported)
	}
	return fromIndex(ctx, r, toIndex(m, mt, d.Digest), sel, depth)
}

// fromIndex picks from an index: the entry for the platform asked for (or
// the host's), or with sel.all each runnable platform, reading the index
// once whatever the number of platforms.
func fromIndex(ctx context.Context, r manifestReader, ix *image.Index, sel selector, depth int) ([]*image.Image, error) {
	if !sel.all {
		d, err := pickPlatform(ix, ix.Manifests, sel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.describe(), err)
		}
		return resolve(ctx, r, d, nil, ix, sel, depth+1)
	}
	run := runnable(ix.Manifests, sel.platform)
	switch {
	case len(run) == 0 && sel.platform != nil:
		if _, err := choosePlatform(ix, *sel.platform); err != nil { // for its message
			return nil, fmt.Errorf("%s: %w", r.describe(), err)
		}
		return nil, fmt.Errorf("%s: no %s image in the index: %w", r.describe(), sel.platform, ErrPlatformNotFound)
	case len(run) == 0:
		return nil, fmt.Errorf("%s: the index lists no runnable image (only attestations or unknown platforms): %w", r.describe(), ErrPlatformNotFound)
	case len(run) == 1:
		// A wrapper (a named entry over a platform index) or one platform.
		return resolve(ctx, r, run[0], nil, ix, sel, depth+1)
	case len(run) > sel.max:
		return nil, fmt.Errorf("%s: the index lists %d platforms, more than the %d strata opens at once (Options.MaxPlatforms): %w", r.describe(), len(run), sel.max, ErrTooLarge)
	}
	var out []*image.Image
	var missing []string
	var firstMissing error
	for _, d := range run {
		one := selector{platform: d.Platform}
		imgs, err := resolve(ctx, r, d, nil, ix, one, depth+1)
		if errors.Is(err, ErrNotFound) {
			// Saves of multi-platform images often keep one platform's
			// blobs and list the rest: report those, open the others.
			missing = append(missing, platformName(d))
			if firstMissing == nil {
				firstMissing = err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", r.describe(), platformName(d), err)
		}
		out = append(out, imgs...)
	}
	if len(out) == 0 {
		return nil, firstMissing
	}
	if len(missing) > 0 {
		note := fmt.Sprintf("the index also lists %s, whose manifest or blobs are not there", strings.Join(missing, ", "))
		for _, img := range out {
			img.Notes = append(img.Notes, note)
		}
	}
	return out, nil
}

// runnable is the entries that are images to run: attestations are split
// off by toIndex already; unknown/unknown entries are other attachments.
// With want set, only entries satisfying it.
// A lone entry without a platform is a wrapper (a named entry over a
// platform index, as containerd saves write) and is kept: the platform is
// chosen below it.
func runnable(ds []image.Descriptor, want *image.Platform) []image.Descriptor {
	var run []image.Descriptor
	for _, d := range ds {
		if d.Platform == nil || d.Platform.OS != "unknown" {
			run = append(run, d)
		}
	}
	if want == nil || (len(run) == 1 && run[0].Platform == nil) {
		return run
	}
	var out []image.Descriptor
	for _, d := range run {
		if d.Platform != nil && d.Platform.Satisfies(*want) {
			out = append(out, d)
		}
	}
	return out
}

func platformName(d image.Descriptor) string {
	if d.Platform != nil {
		return d.Platform.String()
	}
	return d.Digest
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

// imageFromManifest builds the model from an image (or schema 1) manifest.
func imageFromManifest(ctx context.Context, r manifestReader, m *rawManifest, mt string, k kind, dgst string, size int64) (*image.Image, error) {
	switch k {
	case kindSchema1:
		img, err := schema1Image(m, mt, dgst, size)
		if err != nil {
			return nil, fmt.Errorf("%s: manifest %s: %w", r.describe(), dgst, err)
		}
		return img, nil
	case kindIndex:
		return nil, fmt.Errorf("%s: manifest %s is an index where an image was expected: %w", r.describe(), dgst, ErrCorrupt)
	}
	if m.Config == nil {
		return nil, fmt.Errorf("%s: manifest %s has no config: %w", r.describe(), dgst, ErrCorrupt)
	}
	if err := checkImageConfigType(m); err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", r.describe(), dgst, err)
	}
	cfg, err := r.config(ctx, *m.Config)
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", dgst, err)
	}
	img, err := buildImage(m, mt, dgst, size, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: image %s: %w", r.describe(), dgst, err)
	}
	return img, nil
}

// storeReader walks the indexes of a blob store.
type storeReader struct{ s blobStore }

func (r storeReader) manifest(ctx context.Context, d image.Descriptor) ([]byte, error) {
	return readVerifiedBlob(ctx, r.s, d.Digest, maxMetadata)
}

func (r storeReader) config(ctx context.Context, d image.Descriptor) ([]byte, error) {
	return readVerifiedBlob(ctx, r.s, d.Digest, maxMetadata)
}

func (r storeReader) describe() string { return r.s.describe() }

// openFromIndex resolves images from a store whose root is an OCI index
// (index.json), honouring tags, nested indexes and platforms.
func openFromIndex(ctx context.Context, s blobStore, root []byte, sel selector) ([]*image.Image, error) {
	m, mt, k, err := parseManifest(root, image.MediaTypeOCIIndex)
	if err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", s.describe(), err)
	}
	if k != kindIndex {
		return nil, fmt.Errorf("%s: index.json is a %s, not an index: %w", s.describe(), mt, ErrCorrupt)
	}
	r := storeReader{s}
	top := toIndex(m, mt, "")
	entries := withoutCosignSaved(top.Manifests)
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
	switch {
	case len(entries) == 0:
		return nil, fmt.Errorf("%s: index lists no images: %w", s.describe(), errNoSuchName)
	case len(entries) == 1 || allSame(entries, func(d image.Descriptor) string { return d.Digest + " " + platformName(d) }):
		// One image under several names: those names are what the store
		// knows it by, as a docker save's RepoTags are. (The entry is not
		// made Index.Chosen: its platform chose nothing, and the platform
		// rule must still hold the image itself to a requested platform.)
		imgs, err := resolve(ctx, r, entries[0], nil, nil, sel, 0)
		for _, img := range imgs {
			img.RepoTags = appendStoredNames(img.RepoTags, entries)
		}
		return imgs, err
	case allHavePlatforms(entries):
		// The top-level index is itself a multi-platform image.
		sub := *top
		sub.Manifests = entries
		return fromIndex(ctx, r, &sub, sel, 0)
	}
	return nil, &kindError{
		msg:  fmt.Sprintf("%s holds %d images; name one as PATH:NAME (names: %s)", s.describe(), len(entries), listNames(entries)),
		kind: ErrAmbiguous,
	}
}

// appendStoredNames adds the full image names index entries carry
// (io.containerd.image.name, a ref.name that is a whole reference rather
// than skopeo's bare tag) to tags, once each.
func appendStoredNames(tags []string, entries []image.Descriptor) []string {
	for _, d := range entries {
		for _, n := range refNames(d) {
			if strings.ContainsAny(n, "/:") && !slices.Contains(tags, n) {
				tags = append(tags, n)
			}
		}
	}
	return tags
}
