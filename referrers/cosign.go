package referrers

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// cosignSignatures reads a cosign signature manifest: each simple-signing
// layer is a payload naming the signed image digest, its signature in an
// annotation, and optionally a certificate and a Rekor bundle.
func (it *Item) cosignSignatures(ctx context.Context, src Source, m manifest, opts Options) error {
	for _, l := range m.Layers {
		if l.MediaType != mtSimpleSigning {
			continue
		}
		s := Signature{Bundle: l.Annotations[annBundle] != "" || l.Annotations[annRFC3161] != ""}
		if c := l.Annotations[annCertificate]; c != "" {
			s.Certificate = true
			s.Identity, s.Issuer = certIdentity([]byte(c))
		}
		payload, err := src.ReadBlob(ctx, l, maxPayload)
		if err != nil {
			return fmt.Errorf("read signature payload %s: %w", l.Digest, err)
		}
		var p struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
			} `json:"critical"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return fmt.Errorf("signature payload %s: %w", l.Digest, err)
		}
		s.SignedDigest = p.Critical.Image.Digest
		if opts.Key != nil {
			err := verifyBlob(opts.Key, payload, l.Annotations[annSignature])
			if err == nil && s.SignedDigest != it.Subject {
				err = fmt.Errorf("the payload signs %s, not %s", s.SignedDigest, it.Subject)
			}
			s.setVerified(err)
		}
		it.Signatures = append(it.Signatures, s)
	}
	return nil
}

// attestations reads a cosign attestation manifest: each DSSE layer is an
// envelope around an in-toto statement, its predicate type also in an
// annotation.
func (it *Item) attestations(ctx context.Context, src Source, m manifest, opts Options) error {
	for _, l := range m.Layers {
		if l.MediaType != mtDSSE {
			continue
		}
		b, err := src.ReadBlob(ctx, l, maxPayload)
		if err != nil {
			return fmt.Errorf("read attestation %s: %w", l.Digest, err)
		}
		sigs, st, err := readDSSE(b, it.Subject, opts)
		if err != nil {
			return fmt.Errorf("attestation %s: %w", l.Digest, err)
		}
		p := st.PredicateType
		if p == "" {
			p = l.Annotations[annPredicate]
		}
		it.addPredicate(p)
		for i := range sigs {
			sigs[i].Bundle = l.Annotations[annBundle] != ""
			if c := l.Annotations[annCertificate]; c != "" {
				sigs[i].Certificate = true
				sigs[i].Identity, sigs[i].Issuer = certIdentity([]byte(c))
			}
		}
		it.Signatures = append(it.Signatures, sigs...)
	}
	return nil
}

func (s *Signature) setVerified(err error) {
	ok := err == nil
	s.Verified = &ok
	if err != nil {
		s.Error = err.Error()
	}
}

// Fulcio's certificate extensions naming the OIDC issuer (v1 and v2).
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// certIdentity names a signing certificate's subject: its e-mail or URI
// SAN (keyless cosign), else its subject DN; and the OIDC issuer Fulcio
// recorded.
func certIdentity(pemOrDER []byte) (identity, issuer string) {
	der := pemOrDER
	if b, _ := pem.Decode(pemOrDER); b != nil {
		der = b.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "(unreadable certificate)", ""
	}
	switch {
	case len(c.EmailAddresses) > 0:
		identity = c.EmailAddresses[0]
	case len(c.URIs) > 0:
		identity = c.URIs[0].String()
	default:
		identity = c.Subject.String()
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidIssuerV1) {
			issuer = string(e.Value)
		}
		if e.Id.Equal(oidIssuerV2) {
			var s string
			if _, err := asn1.Unmarshal(e.Value, &s); err == nil {
				issuer = s
			}
		}
	}
	return identity, strings.TrimSpace(issuer)
}

var errNoSignature = errors.New("no signature")
