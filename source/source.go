// Package source opens images from every place users keep them — registry,
// Docker-API daemon (dockerd or podman), docker save / oci-archive tarballs
// of any vintage, OCI layout directories — and turns each into the one
// image.Image model. It is the only package that does I/O on images.
package source

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-tool/strata/image"
)

// Source is an opened image: its model, plus lazy access to its blobs.
// Opening reads metadata only; layers are read when OpenLayer is called.
type Source interface {
	// Image is the model. It is built once, at Open, and must not be mutated.
	Image() *image.Image
	// OpenLayer streams layer i (application order) as an uncompressed tar,
	// decompressing gzip/zstd as detected from the content. The stream's
	// digest is checked at EOF; a mismatch is returned as ErrDigestMismatch.
	OpenLayer(ctx context.Context, i int) (io.ReadCloser, error)
	// ReadBlob reads a small blob by descriptor (attestation manifests,
	// in-toto statements), refusing anything over max bytes.
	ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error)
	Close() error
}

// Options control how a reference is opened.
type Options struct {
	// Platform selects from an index; nil means the host's platform, as
	// docker does.
	Platform *image.Platform
	// Insecure allows plain HTTP and unverified TLS. Registries on
	// localhost/127.0.0.1 are treated as insecure automatically.
	Insecure bool
	// Keychain supplies registry credentials; nil means
	// authn.DefaultKeychain (~/.docker/config.json and credential helpers).
	Keychain authn.Keychain
	// Transport, if set, carries every registry request (tests count them).
	Transport http.RoundTripper
	// DockerHost overrides DOCKER_HOST for the daemon transport.
	DockerHost string
	// Daemon forces the daemon transport for a bare reference.
	Daemon bool
	// Stats, if set, counts registry requests and bytes received.
	Stats *HTTPStats
	// Guard, if set, refuses internal registry addresses and caps
	// response sizes (see Guard).
	Guard *Guard
}

// Error kinds. Every error Open returns wraps one of these, with the
// context a user needs to act (which registry, which file, which digest).
var (
	ErrNotFound         = errors.New("not found")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrUnsupported      = errors.New("unsupported media type")
	ErrCorrupt          = errors.New("corrupt or truncated")
	ErrDigestMismatch   = errors.New("digest mismatch")
	ErrPlatformNotFound = errors.New("platform not in index")
	ErrAmbiguous        = errors.New("archive holds several images")
)
