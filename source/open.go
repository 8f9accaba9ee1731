package source

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/strata-tool/strata/reference"
)

// Open opens an image argument; package reference decides which transport
// it names (registry, daemon, or an existing file or directory):
//
//	docker-daemon:REF          Docker Engine API (or podman's) at DOCKER_HOST
//	oci:DIR[:tag]              OCI image layout
//	oci-archive:FILE[:ref]     OCI archive
//	docker-archive:FILE[:ref]  docker save tarball
//	docker://REF               registry (skopeo style)
//	PATH[:ref]                 an existing directory (layout) or file (archive)
//	FILE.md                    a docker-library repo-info record (metadata only)
//	REF                        registry, Docker-style (nginx = index.docker.io/library/nginx:latest),
//	                           or the daemon when Options.Daemon is set
func Open(ctx context.Context, arg string, opts Options) (Source, error) {
	r, err := reference.Parse(arg, reference.Options{Daemon: opts.Daemon})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	return OpenRef(ctx, r, opts)
}

// OpenRef opens an already resolved reference.
func OpenRef(ctx context.Context, r reference.Ref, opts Options) (Source, error) {
	switch r.Transport {
	case reference.Daemon:
		return openDaemon(ctx, r.DaemonRef, opts)
	case reference.Path:
		return openPath(ctx, r.File, r.Select, opts)
	}
	src, err := openRegistry(ctx, r.Name, opts)
	if err != nil {
		if hint := reference.NotLocal(r); hint != "" && !errors.Is(err, ErrUnauthorized) {
			return nil, fmt.Errorf("%w (%s)", err, hint)
		}
		return nil, err
	}
	return src, nil
}

func openPath(ctx context.Context, p, sub string, opts Options) (Source, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if st.IsDir() {
		return openLayout(ctx, p, sub, opts)
	}
	if isRepoInfo(p) {
		return openRepoInfo(p, opts)
	}
	return openArchive(ctx, p, sub, opts)
}
