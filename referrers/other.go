package referrers

import (
	"context"
	"encoding/json"
	"fmt"
)

// sigstoreBundles reads sigstore bundles (cosign's new bundle format, an
// OCI 1.1 referrer): a message signature over the image, or a DSSE
// envelope around an attestation, with the key hint or certificate
// that verifies it.
func (it *Item) sigstoreBundles(ctx context.Context, src Source, m manifest, opts Options) error {
	for _, l := range m.Layers {
		b, err := src.ReadBlob(ctx, l, maxPayload)
		if err != nil {
			return fmt.Errorf("read bundle %s: %w", l.Digest, err)
		}
		var bundle struct {
			VerificationMaterial struct {
				PublicKey struct {
					Hint string `json:"hint"`
				} `json:"publicKey"`
				Certificate struct {
					RawBytes string `json:"rawBytes"`
				} `json:"certificate"`
				TlogEntries []json.RawMessage `json:"tlogEntries"`
			} `json:"verificationMaterial"`
			DSSEEnvelope     json.RawMessage `json:"dsseEnvelope"`
			MessageSignature *struct {
				Signature string `json:"signature"`
			} `json:"messageSignature"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return fmt.Errorf("bundle %s: %w", l.Digest, err)
		}
		base := Signature{KeyID: bundle.VerificationMaterial.PublicKey.Hint, Bundle: true}
		if c := bundle.VerificationMaterial.Certificate.RawBytes; c != "" {
			if der, err := b64(c); err == nil {
				base.Certificate = true
				base.Identity, base.Issuer = certIdentity(der)
			}
		}
		if bundle.DSSEEnvelope != nil {
			sigs, st, err := readDSSE(bundle.DSSEEnvelope, it.Subject, opts)
			if err != nil {
				return fmt.Errorf("bundle %s: %w", l.Digest, err)
			}
			it.addPredicate(st.PredicateType)
			for _, s := range sigs {
				s.Certificate, s.Identity, s.Issuer, s.Bundle = base.Certificate, base.Identity, base.Issuer, true
				it.Signatures = append(it.Signatures, s)
			}
			continue
		}
		it.Describes = append(it.Describes, "signature")
		it.Signatures = append(it.Signatures, base)
	}
	return nil
}

// notation describes Notation signatures: JWS envelopes carry the
// signing certificate chain in their unprotected header (x5c); COSE ones
// are named only by the thumbprint annotation.
func notation(ctx context.Context, src Source, m manifest) []Signature {
	var out []Signature
	for _, l := range m.Layers {
		s := Signature{Certificate: true, KeyID: m.Annotations[annNotaryThumb]}
		if l.MediaType == "application/jose+json" {
			if b, err := src.ReadBlob(ctx, l, maxPayload); err == nil {
				var jws struct {
					Header struct {
						X5C []string `json:"x5c"`
					} `json:"header"`
				}
				if json.Unmarshal(b, &jws) == nil && len(jws.Header.X5C) > 0 {
					if der, err := b64(jws.Header.X5C[0]); err == nil {
						s.Identity, s.Issuer = certIdentity(der)
					}
				}
			}
		}
		out = append(out, s)
	}
	return out
}
