package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// registrySource is an image in a registry. Opening fetches the manifest
// (index, then platform manifest) and the config blob only; layers are
// fetched by OpenLayer.
type registrySource struct {
	img    *image.Image
	repo   name.Repository
	puller *remote.Puller
	// opts are kept for the range-request client (blobrange.go), which
	// needs the same credentials and transport as the puller.
	opts Options
	rng  rangeClient
}

func (r *registrySource) Image() *image.Image { return r.img }
func (r *registrySource) Close() error        { return nil }

// openRegistry opens a registry reference: one image, or with sel.all
// every platform of its index, which is fetched once.
func openRegistry(ctx context.Context, n reference.Name, opts Options, sel selector) ([]Source, error) {
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
	host := ref.Context().RegistryStr()
	popts := append([]remote.Option{
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(registryTransport(opts, host, opts.Insecure || isLoopback(host))),
		remote.WithUserAgent("strata"),
	}, retryOptions()...)
	puller, err := remote.NewPuller(popts...)
	if err != nil {
		return nil, err
	}
	mctx, cancel, timedOut := metadataContext(ctx, opts.Timeouts.withDefaults(), "registry "+host)
	defer cancel()
	imgs, err := fetchImages(mctx, puller, ref, sel)
	if err != nil {
		err = timedOut(err)
		if opts.StrictAuth && errors.Is(err, ErrUnauthorized) && !strings.Contains(err.Error(), "strict auth") {
			err = fmt.Errorf("%w (strict auth: credentials are sent to %s only)", err, host)
		}
		return nil, err
	}
	out := make([]Source, len(imgs))
	for i, img := range imgs {
		img.Transport = "registry"
		img.Reference = ref.Name()
		out[i] = &registrySource{img: img, repo: ref.Context(), puller: puller, opts: opts}
	}
	return out, nil
}

// registryReader fetches manifests and configs of one repository.
type registryReader struct {
	p   *remote.Puller
	ref name.Reference
}

func (r registryReader) describe() string { return r.ref.Name() }

func (r registryReader) manifest(ctx context.Context, d image.Descriptor) ([]byte, error) {
	if err := registryDigest(d.Digest); err != nil {
		return nil, fmt.Errorf("%s: %w", r.ref.Name(), err)
	}
	child := r.ref.Context().Digest(d.Digest)
	cd, err := r.p.Get(ctx, child)
	if err != nil {
		return nil, registryError(err, child.Name())
	}
	if cd.Digest.String() != d.Digest {
		return nil, fmt.Errorf("%s: manifest has digest %s: %w", child.Name(), cd.Digest, ErrDigestMismatch)
	}
	return cd.Manifest, nil
}

func (r registryReader) config(ctx context.Context, d image.Descriptor) ([]byte, error) {
	b, err := readRegistryBlob(ctx, r.p, r.ref.Context(), d.Digest, maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", r.ref.Name(), err)
	}
	return b, nil
}

func fetchImages(ctx context.Context, p *remote.Puller, ref name.Reference, sel selector) ([]*image.Image, error) {
	desc, err := p.Get(ctx, ref)
	if err != nil {
		return nil, registryError(err, ref.Name())
	}
	d := image.Descriptor{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: desc.Size}
	return resolve(ctx, registryReader{p: p, ref: ref}, d, desc.Manifest, nil, sel, 0)
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

// registryDigest refuses a digest go-containerregistry cannot verify: it
// hashes registry content with sha256 only, and strata reads nothing
// unverified.
func registryDigest(d string) error {
	if _, err := parseDigest(d); err != nil {
		return err
	}
	if !strings.HasPrefix(d, "sha256:") {
		return &kindError{kind: ErrUnsupported, msg: fmt.Sprintf("digest %s: strata verifies registry content by sha256 only (go-containerregistry); copy the image to an OCI layout to read it", short(d))}
	}
	return nil
}

// openRegistryBlob streams a blob; go-containerregistry checks its digest
// at EOF.
func openRegistryBlob(ctx context.Context, p *remote.Puller, repo name.Repository, d string) (io.ReadCloser, error) {
	if err := registryDigest(d); err != nil {
		return nil, fmt.Errorf("%s: %w", repo.Name(), err)
	}
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
		return nil, fmt.Errorf("layer %d: image has %s", i, image.Count(len(r.img.Layers), "layer"))
	}
	l := r.img.Layers[i]
	rc, err := openRegistryBlob(ctx, r.puller, r.repo, l.Digest)
	if err != nil {
		return nil, err
	}
	// The blob digest is verified by go-containerregistry; we check size
	// and the uncompressed diff_id.
	return layerStream(rc, "", l.Size, l.DiffID, fmt.Sprintf("%s: layer %d", r.repo.Name(), i))
}

// ReadBlob reads a blob, or a manifest when the descriptor names one
// (attestation manifests live under /manifests/, not /blobs/).
func (r *registrySource) ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error) {
	if !isManifestMediaType(d.MediaType) {
		return readRegistryBlob(ctx, r.puller, r.repo, d.Digest, max)
	}
	if err := registryDigest(d.Digest); err != nil {
		return nil, fmt.Errorf("%s: %w", r.repo.Name(), err)
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
	// Our own transport's errors already name the host and the request.
	var to *TimeoutError
	if errors.As(err, &to) {
		return to
	}
	var ke *kindError
	if errors.As(err, &ke) {
		return ke
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, context.Canceled)
	}
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
