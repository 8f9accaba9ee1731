package referrers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/source"
)

// Media and artifact types of the formats strata recognises.
const (
	mtSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	mtDSSE          = "application/vnd.dsse.envelope.v1+json"
	atNotation      = "application/vnd.cncf.notary.signature"
	atSigstore      = "application/vnd.dev.sigstore.bundle"
	annSignature    = "dev.cosignproject.cosign/signature"
	annCertificate  = "dev.sigstore.cosign/certificate"
	annBundle       = "dev.sigstore.cosign/bundle"
	annRFC3161      = "dev.sigstore.cosign/rfc3161timestamp"
	annPredicate    = "predicateType"
	annNotaryThumb  = "io.cncf.notary.x509chain.thumbprint#S256"
)

// Size limits: signature payloads and bundles are small; an SBOM
// attestation of a large image runs to megabytes.
const (
	maxManifest = 4 << 20
	maxPayload  = 64 << 20
)

type manifest struct {
	MediaType    string             `json:"mediaType"`
	ArtifactType string             `json:"artifactType"`
	Config       image.Descriptor   `json:"config"`
	Layers       []image.Descriptor `json:"layers"`
	Annotations  map[string]string  `json:"annotations"`
}

// describe reads one referrer's manifest and says what it is.
func describe(ctx context.Context, src Source, r source.Referrer, opts Options) (Item, error) {
	it := Item{Digest: r.Digest, MediaType: r.MediaType, ArtifactType: r.ArtifactType, Subject: r.Subject, Via: r.Via, Tag: r.Tag, Kind: Artifact}
	if it.MediaType == "" {
		it.MediaType = image.MediaTypeOCIManifest
	}
	b, err := src.ReadBlob(ctx, image.Descriptor{MediaType: it.MediaType, Digest: r.Digest, Size: r.Size}, maxManifest)
	if err != nil {
		return it, fmt.Errorf("read manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return it, fmt.Errorf("manifest: %w", err)
	}
	if it.ArtifactType == "" {
		it.ArtifactType = m.ArtifactType
	}
	at := it.ArtifactType
	if at == "" {
		at = m.Config.MediaType
	}
	switch {
	case r.Via == "index":
		it.Kind = BuildKitAttestation
		for _, l := range m.Layers {
			if p := l.Annotations[image.AnnotationInTotoPredicate]; p != "" {
				it.addPredicate(p)
			}
		}
	case at == atNotation:
		it.Kind = NotationSignature
		it.Signatures = notation(ctx, src, m)
	case strings.HasPrefix(at, atSigstore):
		it.Kind = SigstoreBundle
		err = it.sigstoreBundles(ctx, src, m, opts)
	case hasLayer(m, mtSimpleSigning):
		it.Kind = CosignSignature
		err = it.cosignSignatures(ctx, src, m, opts)
	case hasLayer(m, mtDSSE):
		it.Kind = CosignAttestation
		err = it.attestations(ctx, src, m, opts)
	case isSBOMType(at) || strings.HasSuffix(r.Tag, ".sbom") || (len(m.Layers) > 0 && isSBOMType(m.Layers[0].MediaType)):
		it.Kind = SBOM
		it.Describes = append(it.Describes, sbomName(at, m))
	}
	return it, err
}

func hasLayer(m manifest, mt string) bool {
	for _, l := range m.Layers {
		if l.MediaType == mt {
			return true
		}
	}
	return false
}

func isSBOMType(t string) bool {
	t = strings.ToLower(t)
	return strings.Contains(t, "spdx") || strings.Contains(t, "cyclonedx") || strings.Contains(t, "syft")
}

func sbomName(at string, m manifest) string {
	t := at
	if len(m.Layers) > 0 {
		t += " " + m.Layers[0].MediaType
	}
	switch t = strings.ToLower(t); {
	case strings.Contains(t, "spdx"):
		return "SPDX SBOM"
	case strings.Contains(t, "cyclonedx"):
		return "CycloneDX SBOM"
	}
	return "SBOM"
}

func (it *Item) addPredicate(p string) {
	for _, q := range it.Predicates {
		if q == p {
			return
		}
	}
	it.Predicates = append(it.Predicates, p)
	it.Describes = append(it.Describes, predicateName(p))
}

// predicateName says what an in-toto predicate type is.
func predicateName(p string) string {
	switch {
	case strings.HasPrefix(p, "https://slsa.dev/provenance/"):
		return "SLSA provenance " + strings.TrimPrefix(p, "https://slsa.dev/provenance/")
	case strings.HasPrefix(p, "https://spdx.dev/Document"):
		return "SPDX SBOM"
	case strings.HasPrefix(p, "https://cyclonedx.org/bom"):
		return "CycloneDX SBOM"
	case p == "https://cosign.sigstore.dev/attestation/vuln/v1":
		return "vulnerability scan"
	case p == "https://cosign.sigstore.dev/attestation/v1":
		return "custom predicate"
	case strings.HasPrefix(p, "https://in-toto.io/attestation/vulns"):
		return "vulnerability scan"
	}
	return p
}

// statement is the part of an in-toto statement strata reads.
type statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
}

func (st statement) names(digest string) bool {
	alg, hex, _ := strings.Cut(digest, ":")
	for _, s := range st.Subject {
		if s.Digest[alg] == hex {
			return true
		}
	}
	return false
}

func b64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
