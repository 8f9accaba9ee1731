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
	"time"

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

// Options control how a reference is opened. The zero value is usable:
// every limit has a default a user would expect.
type Options struct {
	// Platform is the platform asked for. An index yields the entry that
	// satisfies it; a single image must satisfy it or the open fails with
	// ErrPlatformNotFound. nil means the host's platform for an index (as
	// docker does) and a single image as it is.
	Platform *image.Platform
	// Insecure allows plain HTTP and unverified TLS. Registries on
	// localhost/127.0.0.1 are treated as insecure automatically.
	Insecure bool
	// Keychain supplies registry credentials; nil means
	// authn.DefaultKeychain (~/.docker/config.json and credential helpers).
	Keychain authn.Keychain
	// StrictAuth keeps registry credentials on the registry's own host: a
	// token service elsewhere (its WWW-Authenticate realm) is asked for an
	// anonymous token instead. Docker sends them; this is the opt-in
	// refusal (--strict-auth).
	StrictAuth bool
	// Transport, if set, carries every registry request (tests count them).
	// The timeouts still apply; Timeouts.Connect only to the default one.
	Transport http.RoundTripper
	// DockerHost overrides DOCKER_HOST for the daemon transport.
	DockerHost string
	// Daemon forces the daemon transport for a bare reference.
	Daemon bool
	// Stats, if set, counts registry requests and bytes received.
	Stats *HTTPStats
	// Timeouts bound every network wait; zero fields take the defaults.
	Timeouts Timeouts
	// MaxRetryWait caps the time one registry request may spend waiting to
	// be retried (Retry-After on 429/503, back-off after 5xx). 0 means
	// DefaultMaxRetryWait; negative means never retry.
	MaxRetryWait time.Duration
	// Waiting, if set, is told before every such wait, so a CLI can say on
	// a terminal why nothing is happening.
	Waiting func(Wait)
	// MaxPlatforms bounds how many platforms OpenPlatforms opens; 0 means
	// DefaultMaxPlatforms.
	MaxPlatforms int
	// SpoolLimit bounds the temporary file a whole-file compressed archive
	// is decompressed into (once) when its layers are read; 0 means
	// DefaultSpoolLimit, negative never spools. Larger archives are
	// streamed from the start for each layer instead.
	SpoolLimit int64
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
	// ErrTimeout: a peer (registry, token service, daemon) did not answer,
	// or answered too slowly, within the limits of Options.Timeouts.
	ErrTimeout = errors.New("timed out")
	// ErrRateLimited: a registry kept asking to retry later for longer
	// than Options.MaxRetryWait allows.
	ErrRateLimited = errors.New("rate limited")
	// ErrTooLarge: metadata over its size limit, or more platforms than
	// Options.MaxPlatforms.
	ErrTooLarge = errors.New("too large")
)

// kindError is an error of a kind whose message already says everything:
// errors.Is finds the kind, Error does not repeat it.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
