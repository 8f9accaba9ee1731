package source

import (
	"context"
	"fmt"
)

// Open opens an image reference. TODO(core): being written now.
func Open(ctx context.Context, ref string, opts Options) (Source, error) {
	return nil, fmt.Errorf("open %s: %w", ref, ErrUnsupported)
}
