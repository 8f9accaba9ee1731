package layerindex

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/strata-tool/strata/internal/filecache"
)

// ErrNotFound is what Store.Get returns for a digest it has no (usable)
// index for.
var ErrNotFound = errors.New("no index for this digest")

// Store keeps indexes by digest: a layer's blob digest (the full index)
// and its diff_id (the entries alone, shared by every compression of the
// same content). The default is a cache directory (DirStore); a server
// shares one through the catalog's database, storing Marshal's bytes
// (NewBytesStore).
//
// Implementations must be safe for concurrent use, treat damaged entries
// as absent (ErrNotFound: the caller rebuilds and Puts again) and may drop
// entries at any time to bound their size.
type Store interface {
	Get(ctx context.Context, digest string) (*Index, error)
	Put(ctx context.Context, digest string, ix *Index) error
}

// DefaultMaxBytes bounds a DirStore unless told otherwise: room for the
// indexes of about a thousand typical layers, or BIG's eight 44 MiB layers
// hundreds of times over.
const DefaultMaxBytes = 1 << 30

// DefaultDir is where strata keeps layer indexes:
// $XDG_CACHE_HOME/strata/layers, else ~/.cache/strata/layers.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for layer indexes: %w", err)
	}
	return filepath.Join(base, "strata", "layers"), nil
}

// DefaultStore is the store in DefaultDir, bounded by DefaultMaxBytes, or
// nil when no cache directory can be made: indexing then starts over each
// run, which is slower but never wrong.
func DefaultStore() Store {
	dir, err := DefaultDir()
	if err != nil {
		return nil
	}
	s, err := NewDirStore(dir, 0)
	if err != nil {
		return nil
	}
	return s
}

// DirStore keeps one file per digest under Dir (sha256/ab/abcdef…).
// Writes are atomic (a temporary file renamed into place), so concurrent
// strata processes never see half an index. When the files add up to more
// than MaxBytes, the least recently used are removed (Get refreshes a
// file's modification time).
type DirStore struct {
	Dir      string
	MaxBytes int64
}

// NewDirStore makes the directory if needed; maxBytes <= 0 means
// DefaultMaxBytes.
func NewDirStore(dir string, maxBytes int64) (*DirStore, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("layer index cache: %w", err)
	}
	return &DirStore{Dir: dir, MaxBytes: maxBytes}, nil
}

func (s *DirStore) files() filecache.Dir { return filecache.Dir{Path: s.Dir, MaxBytes: s.MaxBytes} }

// name maps a digest to its file; the digest is validated first, so a
// hostile one cannot name a path outside Dir.
func name(d string) (string, error) {
	dg, err := digest.Parse(d)
	if err != nil {
		return "", fmt.Errorf("layer index cache: bad digest %q: %w", d, err)
	}
	h := dg.Encoded()
	return dg.Algorithm().String() + "/" + h[:2] + "/" + h, nil
}

// path is digest d's file (tests damage and age it).
func (s *DirStore) path(d string) (string, error) {
	n, err := name(d)
	return filepath.Join(s.Dir, filepath.FromSlash(n)), err
}

// Get reads the index kept for digest d. A damaged file is removed and
// reported as ErrNotFound.
func (s *DirStore) Get(ctx context.Context, d string) (*Index, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	b, err := s.files().Read(n, maxDecoded)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	var ix *Index
	if err == nil {
		ix, err = Unmarshal(b)
	}
	if err != nil {
		s.files().Remove(n)
		return nil, ErrNotFound
	}
	return ix, nil
}

// Put stores ix under digest d, then evicts if the directory grew past
// MaxBytes.
func (s *DirStore) Put(ctx context.Context, d string, ix *Index) error {
	n, err := name(d)
	if err != nil {
		return err
	}
	b, err := Marshal(ix)
	if err != nil {
		return err
	}
	if err := s.files().Write(n, b); err != nil {
		return fmt.Errorf("layer index cache: %w", err)
	}
	return nil
}
