package layerindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
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

// path maps a digest to its file; the digest is validated first, so a
// hostile one cannot name a path outside Dir.
func (s *DirStore) path(d string) (string, error) {
	dg, err := digest.Parse(d)
	if err != nil {
		return "", fmt.Errorf("layer index cache: bad digest %q: %w", d, err)
	}
	h := dg.Encoded()
	return filepath.Join(s.Dir, dg.Algorithm().String(), h[:2], h), nil
}

// Get reads the index kept for digest d. A damaged file is removed and
// reported as ErrNotFound.
func (s *DirStore) Get(ctx context.Context, d string) (*Index, error) {
	p, err := s.path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("layer index cache: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDecoded))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("layer index cache: read %s: %w", p, err)
	}
	ix, err := Unmarshal(b)
	if err != nil {
		os.Remove(p)
		return nil, ErrNotFound
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // recently used; failure only weakens eviction
	return ix, nil
}

// Put stores ix under digest d, then evicts if the directory grew past
// MaxBytes.
func (s *DirStore) Put(ctx context.Context, d string, ix *Index) error {
	p, err := s.path(d)
	if err != nil {
		return err
	}
	b, err := Marshal(ix)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("layer index cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("layer index cache: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("layer index cache: write %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("layer index cache: %w", err)
	}
	return s.evict()
}

// evict removes the least recently used files until the directory is back
// under 90 % of MaxBytes (so eviction does not run on every Put once full).
// Temporary files older than an hour are leftovers of a killed process.
func (s *DirStore) evict() error {
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			if time.Since(info.ModTime()) > time.Hour {
				os.Remove(p)
			}
			return nil
		}
		files = append(files, file{p, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil || total <= s.MaxBytes {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, f := range files {
		if total <= s.MaxBytes*9/10 {
			break
		}
		if err := os.Remove(f.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= f.size
		}
	}
	return nil
}
