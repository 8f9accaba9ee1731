package source

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// Open opens an image reference:
//
//	docker-daemon:REF          Docker Engine API (or podman's) at DOCKER_HOST
//	oci:DIR[:tag]              OCI image layout
//	dir:DIR                    skopeo's dir: format
//	oci-archive:FILE[:ref]     OCI archive
//	docker-archive:FILE[:ref]  docker save tarball
//	docker://REF               registry (skopeo style)
//	PATH[:ref]                 an existing directory (layout) or file (archive)
//	FILE.md                    a docker-library repo-info record (metadata only)
//	REF                        registry, Docker-style (nginx = index.docker.io/library/nginx:latest),
//	                           or the daemon when Options.Daemon is set
//
// Every transport follows one platform rule (see checkPlatform).
func Open(ctx context.Context, ref string, opts Options) (Source, error) {
	srcs, err := open(ctx, ref, opts, selector{platform: opts.Platform})
	if err != nil {
		return nil, err
	}
	if len(srcs) != 1 {
		closeAll(srcs)
		return nil, fmt.Errorf("%s: %d images where one was expected: %w", ref, len(srcs), ErrAmbiguous)
	}
	if err := checkPlatform(srcs[0].Image(), opts.Platform, ref); err != nil {
		closeAll(srcs)
		return nil, err
	}
	return srcs[0], nil
}

// OpenPlatforms opens every runnable platform of an image — attestation
// manifests and unknown/unknown entries excluded — reading the index once
// and opening each platform from the same registry connection, archive
// scan or layout, never reopening per platform. A reference to a single
// image (or a daemon image) gives one Source. opts.Platform, if set, keeps
// only the platforms that satisfy it. More than opts.MaxPlatforms
// (DefaultMaxPlatforms) platforms is refused with ErrTooLarge rather than
// opened: each open image holds its config in memory. Platforms an index
// lists but a save left out are skipped with a note on each image.
// The caller closes every Source.
func OpenPlatforms(ctx context.Context, ref string, opts Options) ([]Source, error) {
	limit := opts.MaxPlatforms
	if limit <= 0 {
		limit = DefaultMaxPlatforms
	}
	srcs, err := open(ctx, ref, opts, selector{platform: opts.Platform, all: true, max: limit})
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		if err := checkPlatform(s.Image(), opts.Platform, ref); err != nil {
			closeAll(srcs)
			return nil, err
		}
	}
	return srcs, nil
}

func closeAll(srcs []Source) {
	for _, s := range srcs {
		s.Close()
	}
}

// checkPlatform is the one platform rule, for every transport. An image
// chosen from an index by its descriptor's platform was matched there.
// Any other image — a single manifest, an index entry without a platform,
// a daemon image, a docker save — must itself satisfy an explicitly
// requested platform, or the open fails naming what it holds. With no
// platform requested, a single image is taken as it is (indexes default
// to the host's platform where the choice is made).
func checkPlatform(img *image.Image, want *image.Platform, ref string) error {
	if want == nil {
		return nil
	}
	if img.Index != nil && img.Index.Chosen != nil && img.Index.Chosen.Platform != nil {
		return nil
	}
	have := img.Platform
	if have.OS == "" && have.Architecture != "" {
		have.OS = "linux" // old configs (schema 1, pre-1.10) leave os out
	}
	var msg string
	switch {
	case have.Architecture == "":
		msg = fmt.Sprintf("%s holds one image, which does not name its platform, so not one known to be %s", ref, want)
	case !have.Satisfies(*want):
		msg = fmt.Sprintf("%s holds a %s image, not %s", ref, have, want)
	default:
		return nil
	}
	return &kindError{msg: msg, kind: ErrPlatformNotFound}
}

// open dispatches a reference to its transport; package reference
// decides which one the argument names.
func open(ctx context.Context, ref string, opts Options, sel selector) ([]Source, error) {
	r, err := reference.Parse(ref, reference.Options{Daemon: opts.Daemon})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	switch r.Transport {
	case reference.Daemon:
		return openDaemon(ctx, r.DaemonRef, opts)
	case reference.Path:
		return openPath(ctx, r.File, r.Select, opts, sel)
	}
	srcs, err := openRegistry(ctx, r.Name, opts, sel)
	if err != nil {
		if hint := reference.NotLocal(r); hint != "" {
			// "images/nope" is also docker.io/images/nope: say both.
			return nil, fmt.Errorf("%w (%s)", err, hint)
		}
	}
	return srcs, err
}

func openPath(ctx context.Context, p, sub string, opts Options, sel selector) ([]Source, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if st.IsDir() {
		return openLayout(ctx, p, sub, sel)
	}
	if isRepoInfo(p) {
		return openRepoInfo(p, sel)
	}
	srcs, err := openArchive(ctx, p, sub, sel, opts.SpoolLimit)
	if err != nil && errors.Is(err, ErrUnsupported) && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w; write it to a file first", err)
	}
	return srcs, err
}
