package source

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// HTTPStats counts what a registry transport asked for and received.
type HTTPStats struct {
	Requests      atomic.Int64
	BytesReceived atomic.Int64
}

// registrySource is an image in a registry. Opening fetches the manifest
// (index, then platform manifest) and the config blob only; layers are
// fetched by OpenLayer.
type registrySource struct {
	img    *image.Image
	repo   name.Repository
	puller *remote.Puller
	ctx    context.Context
}

func (r *registrySource) Image() *image.Image { return r.img }
func (r *registrySource) Close() error        { return nil }

func openRegistry(ctx context.Context, n reference.Name, opts Options) (Source, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := n.GGCR(nopts...)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference: %w", n.Familiar(), ErrNotFound)
	}
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	puller, err := remote.NewPuller(
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(registryTransport(opts, opts.Insecure || isLoopback(ref.Context().RegistryStr()))),
		remote.WithUserAgent("strata"),
	)
	if err != nil {
		return nil, err
	}
	img, err := fetchImage(ctx, puller, ref, opts)
	if err != nil {
		return nil, err
	}
	img.Transport = "registry"
	img.Reference = ref.Name()
	return &registrySource{img: img, repo: ref.Context(), puller: puller, ctx: ctx}, nil
}

// registryTransport is the innermost round tripper: TLS policy, Retry-After
// and counting. go-containerregistry wraps it with auth and its own retries.
func registryTransport(opts Options, insecure bool) http.RoundTripper {
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if insecure {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for --insecure
		}
		opts.Guard.configure(t, 0)
		base = t
	}
	return &politeTransport{next: opts.Guard.limit(base), stats: opts.Stats, maxWait: 60 * time.Second}
}

func fetchImage(ctx context.Context, p *remote.Puller, ref name.Reference, opts Options) (*image.Image, error) {
	desc, err := p.Get(ctx, ref)
	if err != nil {
		return nil, registryError(err, ref.Name())
	}
	var parent *image.Index
	raw, declared, dig := desc.Manifest, string(desc.MediaType), desc.Digest.String()
	for depth := 0; depth < 8; depth++ {
		m, mt, k, err := parseManifest(raw, declared)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", ref.Name(), dig, err)
		}
		switch k {
		case kindSchema1:
			return schema1Image(m, mt, dig, int64(len(raw)))
		case kindIndex:
			ix := toIndex(m, mt, dig)
			d, err := pickPlatform(ix, ix.Manifests, selector{platform: opts.Platform})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref.Name(), err)
			}
			child := ref.Context().Digest(d.Digest)
			cd, err := p.Get(ctx, child)
			if err != nil {
				return nil, registryError(err, child.Name())
			}
			if cd.Digest.String() != d.Digest {
				return nil, fmt.Errorf("%s: manifest has digest %s: %w", child.Name(), cd.Digest, ErrDigestMismatch)
			}
			chosen := d
			ix.Chosen = &chosen
			parent, raw, declared, dig = ix, cd.Manifest, string(cd.MediaType), d.Digest
			continue
		}
		if m.Config == nil {
			return nil, fmt.Errorf("%s: manifest %s has no config: %w", ref.Name(), dig, ErrCorrupt)
		}
		if err := checkImageConfigType(m); err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Name(), err)
		}
		cfg, err := readRegistryBlob(ctx, p, ref.Context(), m.Config.Digest, maxMetadata)
		if err != nil {
			return nil, fmt.Errorf("%s: config: %w", ref.Name(), err)
		}
		img, err := buildImage(m, mt, dig, int64(len(raw)), cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Name(), err)
		}
		img.Index = parent
		return img, nil
	}
	return nil, fmt.Errorf("%s: indexes nested deeper than 8 levels: %w", ref.Name(), ErrCorrupt)
}

func readRegistryBlob(ctx context.Context, p *remote.Puller, repo name.Repository, d string, max int64) ([]byte, error) {
	rc, err := openRegistryBlob(ctx, p, repo, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readAllLimited(rc, max, "blob "+d)
	if err != nil {
		return nil, registryError(err, repo.Digest(d).Name())
	}
	return b, nil
}

// openRegistryBlob streams a blob; go-containerregistry checks its digest
// at EOF.
func openRegistryBlob(ctx context.Context, p *remote.Puller, repo name.Repository, d string) (io.ReadCloser, error) {
	ref := repo.Digest(d)
	l, err := p.Layer(ctx, ref)
	if err != nil {
		return nil, registryError(err, ref.Name())
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, registryError(err, ref.Name())
	}
	return rc, nil
}

func (r *registrySource) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(r.img.Layers) {
		return nil, fmt.Errorf("layer %d: image has %d layers", i, len(r.img.Layers))
	}
	l := r.img.Layers[i]
	rc, err := openRegistryBlob(ctx, r.puller, r.repo, l.Digest)
	if err != nil {
		return nil, err
	}
	// The blob digest is verified by go-containerregistry; we check size
	// and the uncompressed diff_id.
	return layerStream(rc, "", l.Size, l.DiffID, fmt.Sprintf("%s layer %d (%s)", r.repo.Name(), i, l.Digest))
}

// ReadBlob reads a blob, or a manifest when the descriptor names one
// (attestation manifests live under /manifests/, not /blobs/).
func (r *registrySource) ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error) {
	if !isManifestMediaType(d.MediaType) {
		return readRegistryBlob(ctx, r.puller, r.repo, d.Digest, max)
	}
	ref := r.repo.Digest(d.Digest)
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return nil, registryError(err, ref.Name())
	}
	if desc.Digest.String() != d.Digest {
		return nil, fmt.Errorf("%s: manifest has digest %s: %w", ref.Name(), desc.Digest, ErrDigestMismatch)
	}
	if int64(len(desc.Manifest)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", ref.Name(), max, ErrCorrupt)
	}
	return desc.Manifest, nil
}

func isManifestMediaType(mt string) bool {
	switch mt {
	case image.MediaTypeOCIManifest, image.MediaTypeOCIIndex, image.MediaTypeDockerManifest,
		image.MediaTypeDockerManifestList, image.MediaTypeDockerSchema1, image.MediaTypeDockerSchema1Signed:
		return true
	}
	return false
}

// registryError turns transport failures into the error kinds users act on.
func registryError(err error, what string) error {
	var te *transport.Error
	if errors.As(err, &te) {
		host := what
		if r, perr := name.ParseReference(what); perr == nil {
			host = r.Context().RegistryStr()
		}
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("registry %s refused access to %s (HTTP %d); credentials are read from $DOCKER_CONFIG/config.json or ~/.docker/config.json (auths, credsStore, credHelpers), $REGISTRY_AUTH_FILE and containers auth.json — try `docker login %s`: %w", host, what, te.StatusCode, host, ErrUnauthorized)
		case http.StatusNotFound:
			return fmt.Errorf("registry %s has no %s (HTTP 404): %w", host, what, ErrNotFound)
		case http.StatusTooManyRequests:
			return fmt.Errorf("registry %s is rate-limiting requests for %s (HTTP 429, retried): %w", host, what, err)
		}
		return fmt.Errorf("registry %s answered HTTP %d for %s: %w", host, te.StatusCode, what, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("cannot reach the registry for %s: %w", what, err)
	}
	if strings.Contains(err.Error(), "digest") && strings.Contains(err.Error(), "mismatch") || strings.Contains(err.Error(), "error verifying") {
		return fmt.Errorf("%s: %v: %w", what, err, ErrDigestMismatch)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// politeTransport honours Retry-After on 429/503 (go-containerregistry's
// retries ignore it) and counts requests and bytes for --http-stats.
type politeTransport struct {
	next    http.RoundTripper
	stats   *HTTPStats
	maxWait time.Duration
}

func (t *politeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		// Counted once answered: go-containerregistry's https probe of a
		// plain-http loopback registry never reaches it.
		if t.stats != nil {
			t.stats.Requests.Add(1)
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
			attempt < 3 && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
			if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && wait <= t.maxWait {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				select {
				case <-time.After(wait):
					continue
				case <-req.Context().Done():
					return nil, req.Context().Err()
				}
			}
		}
		if t.stats != nil {
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.stats.BytesReceived}
		}
		return resp, nil
	}
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(h); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// isLoopback reports whether a registry host is on this machine: docker
// treats 127.0.0.0/8 (and localhost) as insecure registries, so a local
// registry with a self-signed certificate works without --insecure.
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
