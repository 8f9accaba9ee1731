package source

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/repoinfo"
)

// isRepoInfo reports whether a file is a docker-library repo-info record
// (repos/<name>/remote/<tag>.md): Markdown, read by name.
func isRepoInfo(path string) bool { return strings.HasSuffix(path, ".md") }

// repoInfoImages parses a repo-info file into its runnable platform images.
func repoInfoImages(path string) ([]*image.Image, error) {
	f, err := repoinfo.ParseFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrCorrupt)
	}
	imgs := f.Images()
	if len(imgs) == 0 {
		return nil, fmt.Errorf("repo-info %s describes no runnable image: %w", path, ErrNotFound)
	}
	for _, img := range imgs {
		// The record names the tag it describes; catalog and lineage
		// read that name from RepoTags as they do for a docker save.
		img.RepoTags = []string{f.Name}
	}
	return imgs, nil
}

// openRepoInfo opens what the selector asks for from a repo-info record:
// metadata only (it names blobs it does not hold). A record is a
// multi-platform image: the host's platform by default, every section with
// sel.all.
func openRepoInfo(path string, sel selector) ([]Source, error) {
	imgs, err := repoInfoImages(path)
	if err != nil {
		return nil, err
	}
	var out []Source
	if sel.all {
		for _, img := range imgs {
			if sel.platform == nil || img.Platform.Satisfies(*sel.platform) {
				out = append(out, &repoInfoSource{img: img, path: path})
			}
		}
		if len(out) > sel.max && sel.max > 0 {
			return nil, fmt.Errorf("repo-info %s describes %d platforms, more than %d: %w", path, len(out), sel.max, ErrTooLarge)
		}
		return out, nil
	}
	if len(imgs) == 1 && sel.platform == nil {
		return []Source{&repoInfoSource{img: imgs[0], path: path}}, nil
	}
	want := image.HostPlatform()
	if sel.platform != nil {
		want = *sel.platform
	}
	var have []string
	for _, img := range imgs {
		if img.Platform.Satisfies(want) {
			return []Source{&repoInfoSource{img: img, path: path}}, nil
		}
		have = append(have, img.Platform.String())
	}
	return nil, fmt.Errorf("repo-info %s has no %s image (it has %s): %w", path, want, strings.Join(have, ", "), ErrPlatformNotFound)
}

// repoInfoSource is one platform image described by a repo-info record.
type repoInfoSource struct {
	img  *image.Image
	path string
}

func (s *repoInfoSource) Image() *image.Image { return s.img }
func (s *repoInfoSource) Close() error        { return nil }

func (s *repoInfoSource) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	return nil, fmt.Errorf("repo-info %s records layer digests only, not their content: %w", s.path, ErrNotFound)
}

func (s *repoInfoSource) ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error) {
	return nil, fmt.Errorf("repo-info %s records digests only, not blob %s: %w", s.path, d.Digest, ErrNotFound)
}
