package provenance

import (
	"context"
	"fmt"

	"github.com/strata-tool/strata/image"
)

// Attestation blobs are small JSON; a mode=max statement of a large build
// is a few MB (python's is 2.2 MB).
const (
	maxAttestationManifest = 1 << 20
	maxStatement           = 64 << 20
)

// BlobReader reads a small blob of the image's store by descriptor (a
// source.Source is one).
type BlobReader interface {
	ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error)
}

// Read fetches the image's SLSA provenance statement when its index holds
// an attestation manifest for it: nil, nil when there is none. Of several
// statements the one that kept the Dockerfile is preferred.
func Read(ctx context.Context, blobs BlobReader, img *image.Image) (*Provenance, error) {
	att, ok := img.Index.AttestationFor(img.ManifestDigest)
	if !ok || img.ManifestDigest == "" {
		return nil, nil
	}
	mb, err := blobs.ReadBlob(ctx, att, maxAttestationManifest)
	if err != nil {
		return nil, fmt.Errorf("read attestation manifest %s: %w", att.Digest, err)
	}
	layers, err := StatementLayers(mb)
	if err != nil {
		return nil, err
	}
	var first *Provenance
	for _, l := range layers {
		b, err := blobs.ReadBlob(ctx, l, maxStatement)
		if err != nil {
			return nil, fmt.Errorf("read provenance statement %s: %w", l.Digest, err)
		}
		p, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("provenance statement %s: %w", l.Digest, err)
		}
		if _, _, ok := p.Dockerfile(); ok {
			return p, nil
		}
		if first == nil {
			first = p
		}
	}
	return first, nil
}
