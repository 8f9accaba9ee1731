package layerindex

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// BytesKV keeps encoded indexes (Marshal's bytes) by digest: what a
// database offers, such as the catalog's (catalog/store.OpenIndexStore).
// It bounds its own size. GetIndex reports an absent digest as found ==
// false, not as an error.
type BytesKV interface {
	GetIndex(ctx context.Context, digest string) (b []byte, found bool, err error)
	PutIndex(ctx context.Context, digest string, b []byte) error
}

// NewBytesStore makes a Store of kv: digests are validated, indexes
// encoded with Marshal, and bytes that do not decode are reported as
// ErrNotFound, so the caller rebuilds the index and its Put replaces them.
func NewBytesStore(kv BytesKV) Store { return bytesStore{kv} }

type bytesStore struct{ kv BytesKV }

func checkDigest(d string) error {
	if _, err := digest.Parse(d); err != nil {
		return fmt.Errorf("layer index store: bad digest %q: %w", d, err)
	}
	return nil
}

func (s bytesStore) get(ctx context.Context, d string, decode func([]byte) (*Index, error)) (*Index, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	b, found, err := s.kv.GetIndex(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("layer index store: %w", err)
	}
	if !found || len(b) > maxDecoded {
		return nil, ErrNotFound
	}
	ix, err := decode(b)
	if err != nil {
		return nil, ErrNotFound
	}
	return ix, nil
}

// Get implements Store.
func (s bytesStore) Get(ctx context.Context, d string) (*Index, error) {
	return s.get(ctx, d, Unmarshal)
}

// getLean implements leanGetter: Stream's consumers get packed entries.
func (s bytesStore) getLean(ctx context.Context, d string) (*Index, error) {
	return s.get(ctx, d, unmarshalLean)
}

// Put implements Store.
func (s bytesStore) Put(ctx context.Context, d string, ix *Index) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	b, err := Marshal(ix)
	if err != nil {
		return err
	}
	if err := s.kv.PutIndex(ctx, d, b); err != nil {
		return fmt.Errorf("layer index store: %w", err)
	}
	return nil
}
