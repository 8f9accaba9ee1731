package source

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-tool/strata/reference"
)

// remoteOptions are the go-containerregistry options every registry call
// shares: credentials, the transport (with the Guard, if any) and ctx.
func remoteOptions(ctx context.Context, n reference.Name, opts Options) []remote.Option {
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	host := n.Registry()
	return append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(registryTransport(opts, host, opts.Insecure || isLoopback(host))),
		remote.WithUserAgent("strata"),
	}, retryOptions()...)
}

// Tags lists a repository's tags, at most max of them (0: all) — one
// request per page of the registry's tag list.
func Tags(ctx context.Context, n reference.Name, opts Options, max int) ([]string, error) {
	ref, err := n.GGCR()
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference: %w", n.Familiar(), ErrNotFound)
	}
	lister, err := remote.NewPuller(remoteOptions(ctx, n, opts)...)
	if err != nil {
		return nil, err
	}
	l, err := lister.Lister(ctx, ref.Context())
	if err != nil {
		return nil, registryError(err, ref.Context().Name())
	}
	var out []string
	for l.HasNext() {
		page, err := l.Next(ctx)
		if err != nil {
			return nil, registryError(err, ref.Context().Name())
		}
		out = append(out, page.Tags...)
		if max > 0 && len(out) >= max {
			return out[:max], nil
		}
	}
	return out, nil
}

// Head returns the digest a tag (or digest) points at with one HEAD
// request: registries do not count a HEAD as a pull (Docker Hub's
// anonymous limit is 10 pulls an hour), so polling tags costs nothing.
func Head(ctx context.Context, n reference.Name, opts Options) (digest, mediaType string, err error) {
	ref, err := n.GGCR()
	if err != nil {
		return "", "", fmt.Errorf("%q is not an image reference: %w", n.Familiar(), ErrNotFound)
	}
	d, err := remote.Head(ref, remoteOptions(ctx, n, opts)...)
	if err != nil {
		return "", "", registryError(err, ref.Name())
	}
	return d.Digest.String(), string(d.MediaType), nil
}
