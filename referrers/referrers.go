// Package referrers tells what refers to an image — cosign signatures and
// attestations, Notation signatures, sigstore bundles, in-toto
// attestations (SLSA provenance, SPDX and CycloneDX SBOMs), BuildKit
// attestation manifests in the image's index — and verifies cosign
// signatures and attestations made with a key. Registry I/O is package
// source's (source.ReferrerLister, Source.ReadBlob); this package reads
// what those return.
package referrers

import (
	"context"
	"crypto"
	"fmt"
	"sort"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// Kind is what a referrer is.
type Kind string

// Kinds.
const (
	CosignSignature     Kind = "cosign-signature"
	CosignAttestation   Kind = "cosign-attestation"
	SigstoreBundle      Kind = "sigstore-bundle"
	NotationSignature   Kind = "notation-signature"
	SBOM                Kind = "sbom"
	BuildKitAttestation Kind = "buildkit-attestation"
	Artifact            Kind = "artifact" // anything else that names the image as its subject
)

// Item is one thing that refers to the image.
type Item struct {
	Kind         Kind   `json:"kind"`
	Digest       string `json:"digest"`
	MediaType    string `json:"mediaType,omitempty"`
	ArtifactType string `json:"artifactType,omitempty"`
	// Subject is the digest it refers to: the image's manifest, or the
	// index the image was chosen from.
	Subject string `json:"subject"`
	// Via: "referrers" (OCI 1.1 API or its tag schema), "cosign-tag" (with
	// Tag), "cosign-save" (stored beside the image in an OCI layout by
	// cosign save, with the tag it had), "index" (an attestation manifest
	// of the image's index).
	Via string `json:"via"`
	Tag string `json:"tag,omitempty"`
	// Predicates are the in-toto predicate types it carries, and
	// Describes says in words what they are ("SPDX SBOM").
	Predicates []string    `json:"predicates,omitempty"`
	Describes  []string    `json:"describes,omitempty"`
	Signatures []Signature `json:"signatures,omitempty"`
	Notes      []string    `json:"notes,omitempty"`
}

// Signature is one signature an item carries.
type Signature struct {
	// Identity and Issuer come from a signing certificate (keyless
	// cosign, Notation); both are empty for a signature made with a key.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// KeyID is the key id a DSSE signature or sigstore bundle names.
	KeyID string `json:"keyid,omitempty"`
	// Certificate: a certificate is attached; Bundle: a transparency-log
	// bundle (Rekor) or sigstore bundle is attached.
	Certificate bool `json:"certificate"`
	Bundle      bool `json:"bundle"`
	// SignedDigest is the image digest the signed payload names.
	SignedDigest string `json:"signedDigest,omitempty"`
	// Verified is set with a key: whether the signature verifies with it
	// and names the subject; Error says why not.
	Verified *bool  `json:"verified,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Result is everything that refers to the image.
type Result struct {
	Items []Item   `json:"items"`
	Notes []string `json:"notes,omitempty"`
	// Verified counts signatures that verified with the key given.
	Verified int `json:"verified,omitempty"`
}

// Options tune List.
type Options struct {
	// Key, when set, verifies every cosign signature and attestation.
	Key crypto.PublicKey
}

// Source is what List reads from (a source.Source).
type Source interface {
	Image() *image.Image
	ReadBlob(ctx context.Context, d image.Descriptor, max int64) ([]byte, error)
}

// List finds and describes what refers to the image src holds.
func List(ctx context.Context, src Source, opts Options) (*Result, error) {
	img := src.Image()
	res := &Result{Items: []Item{}}
	var refs []source.Referrer
	if rl, ok := src.(source.ReferrerLister); ok {
		var err error
		if refs, err = rl.Referrers(ctx); err != nil {
			return nil, err
		}
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("this %s holds no referrers: signatures and attestations live in registries (or beside the image in a layout cosign save wrote)", img.Transport))
	}
	if img.Index != nil {
		for _, a := range img.Index.Attestations {
			if a.Annotations[image.AnnotationDockerRefDigest] == img.ManifestDigest {
				refs = append(refs, source.Referrer{Descriptor: a, Subject: img.ManifestDigest, Via: "index"})
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range refs {
		if seen[r.Digest+r.Via] {
			continue
		}
		seen[r.Digest+r.Via] = true
		it, err := describe(ctx, src, r, opts)
		if err != nil {
			it.Notes = append(it.Notes, err.Error())
		}
		for _, s := range it.Signatures {
			if s.Verified != nil && *s.Verified {
				res.Verified++
			}
		}
		res.Items = append(res.Items, it)
	}
	sort.SliceStable(res.Items, func(i, j int) bool { return res.Items[i].Kind < res.Items[j].Kind })
	return res, nil
}

// Fingerprint is the set of referrers as one comparable string: two
// images whose fingerprints differ are signed or attested differently.
func (r *Result) Fingerprint() []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, string(it.Kind)+" "+it.Digest)
	}
	sort.Strings(out)
	return out
}
