package source

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// Open opens an image reference:
//
//	docker-daemon:REF          Docker Engine API (or podman's) at DOCKER_HOST
//	oci:DIR[:tag]              OCI image layout
//	oci-archive:FILE[:ref]     OCI archive
//	docker-archive:FILE[:ref]  docker save tarball
//	docker://REF               registry (skopeo style)
//	PATH[:ref]                 an existing directory (layout) or file (archive)
//	REF                        registry, Docker-style (nginx = index.docker.io/library/nginx:latest),
//	                           or the daemon when Options.Daemon is set
func Open(ctx context.Context, ref string, opts Options) (Source, error) {
	if ref == "" {
		return nil, fmt.Errorf("empty image reference: %w", ErrNotFound)
	}
	if rest, ok := strings.CutPrefix(ref, "docker-daemon:"); ok {
		return openDaemon(ctx, rest, opts)
	}
	if rest, ok := strings.CutPrefix(ref, "docker://"); ok {
		return openRegistry(ctx, rest, opts)
	}
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:"} {
		if rest, ok := strings.CutPrefix(ref, prefix); ok {
			p, sub := splitPath(rest)
			if p == "" {
				return nil, fmt.Errorf("%s: no such file or directory: %w", rest, ErrNotFound)
			}
			return openPath(ctx, p, sub, opts)
		}
	}
	if p, sub := splitPath(ref); p != "" {
		return openPath(ctx, p, sub, opts)
	}
	if looksLikePath(ref) {
		return nil, fmt.Errorf("%s: no such file or directory: %w", ref, ErrNotFound)
	}
	if opts.Daemon {
		return openDaemon(ctx, ref, opts)
	}
	return openRegistry(ctx, ref, opts)
}

// splitPath finds the longest existing path at the start of s, the rest
// after a ':' naming an image inside it (FILE:REF, DIR:tag).
func splitPath(s string) (path, sub string) {
	if _, err := os.Stat(s); err == nil {
		return s, ""
	}
	for i := len(s) - 1; i > 0; i-- {
		if s[i] != ':' {
			continue
		}
		if _, err := os.Stat(s[:i]); err == nil {
			return s[:i], s[i+1:]
		}
	}
	return "", ""
}

func looksLikePath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~") {
		return true
	}
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}

func openPath(ctx context.Context, p, sub string, opts Options) (Source, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if st.IsDir() {
		return openLayout(ctx, p, sub, opts)
	}
	return openArchive(ctx, p, sub, opts)
}
