package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
)

// BlobRanger is implemented by sources that can read part of a layer's
// stored blob — compressed, exactly as stored — without the rest of it:
// registries by HTTP Range requests, layouts and archives by seeking.
// Tables of contents (eStargz, zstd:chunked) and kept decompression
// checkpoints make single files readable this way.
//
// The bytes are NOT verified: a part of a blob has no digest of its own.
// Callers check what they decode (a file's content digest, a TOC digest
// from the manifest), or read the whole blob and check it against the
// layer's digest.
type BlobRanger interface {
	// OpenBlobRange streams length bytes of the blob of the layer whose
	// blob digest (or, for sources that keep layers uncompressed, diff_id)
	// is d, starting at offset; length < 0 reads to the end of the blob.
	OpenBlobRange(ctx context.Context, d string, offset, length int64) (io.ReadCloser, error)
}

func checkRange(d string, offset, length int64) error {
	if _, err := digest.Parse(d); err != nil {
		return fmt.Errorf("blob range: bad digest %q: %w", d, ErrCorrupt)
	}
	if offset < 0 {
		return fmt.Errorf("blob range of %s: negative offset %d", d, offset)
	}
	return nil
}

// rangeClient is the registry source's authenticated transport for Range
// requests, made on first use: go-containerregistry's puller has no range
// reads, and opening an image must not pay for a second auth handshake.
type rangeClient struct {
	once sync.Once
	rt   http.RoundTripper
	err  error
}

func (r *registrySource) rangeTransport(ctx context.Context) (http.RoundTripper, error) {
	r.rng.once.Do(func() {
		kc := r.opts.Keychain
		if kc == nil {
			kc = authn.DefaultKeychain
		}
		auth, err := kc.Resolve(r.repo)
		if err != nil {
			r.rng.err = fmt.Errorf("credentials for %s: %w", r.repo.Name(), err)
			return
		}
		host := r.repo.RegistryStr()
		base := registryTransport(r.opts, host, r.opts.Insecure || isLoopback(host))
		rt, err := transport.NewWithContext(ctx, r.repo.Registry, auth, base, []string{r.repo.Scope(transport.PullScope)})
		if err != nil {
			r.rng.err = registryError(err, r.repo.Name())
			return
		}
		r.rng.rt = rt
	})
	return r.rng.rt, r.rng.err
}

// OpenBlobRange fetches part of a blob with one Range request. A registry
// that ignores Range (200 instead of 206) still gets the right bytes: the
// prefix is read and dropped.
func (r *registrySource) OpenBlobRange(ctx context.Context, d string, offset, length int64) (io.ReadCloser, error) {
	if err := checkRange(d, offset, length); err != nil {
		return nil, err
	}
	if length == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	rt, err := r.rangeTransport(ctx)
	if err != nil {
		return nil, err
	}
	what := r.repo.Digest(d).Name()
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", r.repo.Registry.Scheme(), r.repo.RegistryStr(), r.repo.RepositoryStr(), d)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	ranged := offset > 0 || length > 0
	if ranged {
		req.Header.Set("Range", rangeHeader(offset, length))
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, registryError(err, what)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: asked for bytes from %d, registry sent Content-Range %q: %w", what, offset, resp.Header.Get("Content-Range"), ErrCorrupt)
		}
		return limitBody(resp.Body, length), nil
	case resp.StatusCode == http.StatusOK:
		if offset > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("%s: skip to offset %d: %w (%w)", what, offset, err, ErrCorrupt)
			}
		}
		return limitBody(resp.Body, length), nil
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		return nil, fmt.Errorf("%s: bytes %s lie beyond the blob: %w", what, rangeHeader(offset, length), ErrCorrupt)
	}
	defer resp.Body.Close()
	return nil, registryError(transport.CheckError(resp, http.StatusOK, http.StatusPartialContent), what)
}

func rangeHeader(offset, length int64) string {
	if length < 0 {
		return "bytes=" + strconv.FormatInt(offset, 10) + "-"
	}
	return fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
}

// contentRangeStart reads the first byte position of "bytes a-b/size".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

// limitBody caps a body at length bytes (length < 0: no cap), keeping Close.
func limitBody(rc io.ReadCloser, length int64) io.ReadCloser {
	if length < 0 {
		return rc
	}
	return &layerReader{Reader: io.LimitReader(rc, length), closers: []io.Closer{rc}}
}

// OpenBlobRange reads part of a layer blob held in a layout or archive:
// by seeking where the bytes lie in a file, else by reading and dropping
// the prefix (a compressed archive can only be re-streamed).
func (s *storeSource) OpenBlobRange(ctx context.Context, d string, offset, length int64) (io.ReadCloser, error) {
	if err := checkRange(d, offset, length); err != nil {
		return nil, err
	}
	i := -1
	for j, l := range s.img.Layers {
		if l.Digest == d || (i < 0 && l.DiffID == d) {
			i = j
		}
	}
	if i < 0 {
		return nil, fmt.Errorf("%s: no layer has digest %s: %w", s.store.describe(), d, ErrNotFound)
	}
	var rc io.ReadCloser
	var err error
	if s.layerOpen != nil {
		rc, err = s.layerOpen(ctx, i)
	} else {
		rc, err = s.store.openBlob(ctx, s.img.Layers[i].Digest)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: layer %d (%s) is missing: %w", s.store.describe(), i, d, ErrNotFound)
		}
		return nil, fmt.Errorf("%s: layer %d (%s): %w", s.store.describe(), i, d, err)
	}
	return sliceStream(rc, offset, length)
}

// sliceStream narrows an open blob to [offset, offset+length).
func sliceStream(rc io.ReadCloser, offset, length int64) (io.ReadCloser, error) {
	end := int64(1<<63 - 1)
	if length >= 0 {
		end = offset + length
	}
	switch r := rc.(type) {
	case *os.File:
		return &layerReader{Reader: io.NewSectionReader(r, offset, end-offset), closers: []io.Closer{r}}, nil
	case *layerReader:
		if sr, ok := r.Reader.(*io.SectionReader); ok {
			base, off, n := sr.Outer()
			narrowed := io.NewSectionReader(base, off+offset, max(min(n-offset, end-offset), 0))
			return &layerReader{Reader: narrowed, closers: r.closers}, nil
		}
	}
	if offset > 0 {
		if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
			rc.Close()
			return nil, fmt.Errorf("skip to offset %d: %w (%w)", offset, err, ErrCorrupt)
		}
	}
	return limitBody(rc, length), nil
}
