package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/strata-tool/strata/image"
)

// Ways a referrer was found.
const (
	// ViaReferrers: the OCI 1.1 referrers API, or the referrers tag
	// schema (sha256-<hex>) registries without the API keep instead.
	ViaReferrers = "referrers"
	// ViaCosignTag: cosign's own tags, sha256-<hex>.sig, .att and .sbom.
	ViaCosignTag = "cosign-tag"
	// ViaCosignSave: stored beside the image in an OCI layout by
	// `cosign save` (Tag: the cosign tag it had in the registry).
	ViaCosignSave = "cosign-save"
)

// cosign save marks the entries of the layout it writes with a "kind"
// annotation: the image, and its signatures, attestations and SBOMs (here
// with the suffix of the tag cosign keeps each under in a registry).
const cosignImageKind = "dev.cosignproject.cosign/image"

var cosignSavedKinds = map[string]string{
	"dev.cosignproject.cosign/sigs":  "sig",
	"dev.cosignproject.cosign/atts":  "att",
	"dev.cosignproject.cosign/sboms": "sbom",
}

// withoutCosignSaved leaves out the signatures, attestations and SBOMs
// cosign save stores beside an image: they refer to it, they are not
// images to choose from.
func withoutCosignSaved(entries []image.Descriptor) []image.Descriptor {
	var out []image.Descriptor
	for _, d := range entries {
		if _, ok := cosignSavedKinds[d.Annotations["kind"]]; !ok {
			out = append(out, d)
		}
	}
	return out
}

// cosignSaved reads, from a layout's index.json, what cosign save stored
// beside the image as the image's referrers, and the digest they refer
// to (the entry marked as the image).
func cosignSaved(root []byte) (subject string, refs []Referrer) {
	m, mt, k, err := parseManifest(root, image.MediaTypeOCIIndex)
	if err != nil || k != kindIndex {
		return "", nil
	}
	entries := toIndex(m, mt, "").Manifests
	for _, d := range entries {
		if d.Annotations["kind"] == cosignImageKind {
			subject = d.Digest
		}
	}
	_, hex, ok := strings.Cut(subject, ":")
	if !ok {
		return "", nil
	}
	for _, d := range entries {
		if suffix, ok := cosignSavedKinds[d.Annotations["kind"]]; ok {
			refs = append(refs, Referrer{Descriptor: d, Subject: subject, Via: ViaCosignSave, Tag: "sha256-" + hex + "." + suffix})
		}
	}
	return subject, refs
}

// savedSource is an image of a layout cosign save wrote: what it stored
// beside the image are the image's referrers.
type savedSource struct {
	*storeSource
	saved []Referrer
}

// Referrers lists what cosign save stored with the image.
func (s *savedSource) Referrers(context.Context) ([]Referrer, error) { return s.saved, nil }

// Referrer is a manifest that refers to an image: a signature, an
// attestation, an SBOM. Descriptor is what the registry lists (artifact
// type and annotations included); Subject the digest it refers to (the
// image's manifest, or the index the image was chosen from).
type Referrer struct {
	image.Descriptor
	Subject string `json:"subject"`
	Via     string `json:"via"`
	// Tag is the cosign tag that holds it (ViaCosignTag).
	Tag string `json:"tag,omitempty"`
}

// ReferrerLister is a source that can list what refers to its image:
// registries. Other sources hold no referrers.
type ReferrerLister interface {
	Referrers(ctx context.Context) ([]Referrer, error)
}

// cosignSuffixes are the tags cosign attaches beside sha256-<hex>.
var cosignSuffixes = []string{"sig", "att", "sbom"}

// Referrers lists what refers to the image's manifest and, for an image
// chosen from an index, to the index (cosign signs what the tag names,
// usually the index): the referrers API (or its fallback tag), then
// cosign's tags. A registry that refuses the query is an error; one that
// simply has nothing returns an empty list.
func (r *registrySource) Referrers(ctx context.Context) ([]Referrer, error) {
	var subjects []string
	if r.img.Index != nil && r.img.Index.Digest != "" {
		subjects = append(subjects, r.img.Index.Digest)
	}
	if r.img.ManifestDigest != "" {
		subjects = append(subjects, r.img.ManifestDigest)
	}
	var out []Referrer
	for _, subj := range subjects {
		if err := registryDigest(subj); err != nil {
			return nil, err
		}
		idx, err := remote.Referrers(r.repo.Digest(subj), remote.Reuse(r.puller), remote.WithContext(ctx))
		if err != nil {
			return nil, registryError(err, r.repo.Name()+" referrers of "+subj)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%s: referrers of %s: %w", r.repo.Name(), subj, err)
		}
		for _, d := range im.Manifests {
			out = append(out, Referrer{Descriptor: descriptorOf(d.MediaType, d.Digest.String(), d.Size, d.ArtifactType, d.Annotations),
				Subject: subj, Via: ViaReferrers})
		}
		tags, err := r.cosignTags(ctx, subj)
		if err != nil {
			return nil, err
		}
		out = append(out, tags...)
	}
	return out, nil
}

func (r *registrySource) cosignTags(ctx context.Context, subj string) ([]Referrer, error) {
	var out []Referrer
	for _, suf := range cosignSuffixes {
		tag := strings.Replace(subj, ":", "-", 1) + "." + suf
		desc, err := r.puller.Get(ctx, r.repo.Tag(tag))
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, registryError(err, r.repo.Name()+":"+tag)
		}
		out = append(out, Referrer{Descriptor: descriptorOf(desc.MediaType, desc.Digest.String(), desc.Size, desc.ArtifactType, desc.Annotations),
			Subject: subj, Via: ViaCosignTag, Tag: tag})
	}
	return out, nil
}

func descriptorOf[M ~string](mt M, digest string, size int64, artifactType string, ann map[string]string) image.Descriptor {
	return image.Descriptor{MediaType: string(mt), Digest: digest, Size: size, ArtifactType: artifactType, Annotations: ann}
}
