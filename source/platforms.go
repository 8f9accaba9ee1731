package source

import (
	"context"
	"fmt"

	"github.com/strata-tool/strata/reference"
)

// OpenPlatforms opens every runnable platform of a multi-platform image
// (attestations and unknown/unknown entries left out), or the one image of
// a single-platform reference. The caller closes every source.
func OpenPlatforms(ctx context.Context, arg string, opts Options) ([]Source, error) {
	r, err := reference.Parse(arg, reference.Options{Daemon: opts.Daemon})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	if r.Transport == reference.Path && isRepoInfo(r.File) {
		imgs, err := repoInfoImages(r.File)
		if err != nil {
			return nil, err
		}
		var out []Source
		for _, img := range imgs {
			out = append(out, &repoInfoSource{img: img, path: r.File})
		}
		return out, nil
	}
	first, err := OpenRef(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	out := []Source{first}
	img := first.Image()
	if img.Index == nil {
		return out, nil
	}
	for _, p := range img.Index.Platforms() {
		if p.OS == "unknown" || p.String() == img.Platform.String() {
			continue
		}
		o := opts
		o.Platform = &p
		s, err := OpenRef(ctx, r, o)
		if err != nil {
			for _, s := range out {
				s.Close()
			}
			return nil, fmt.Errorf("%s (%s): %w", arg, p, err)
		}
		out = append(out, s)
	}
	return out, nil
}
