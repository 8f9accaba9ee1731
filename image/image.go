// Package image is strata's model of a container image: manifest, config,
// layers and history paired with those layers. It is pure data plus pure
// helpers; every transport in package source produces this same model so the
// analysis packages never care where an image came from.
package image

// Media types strata recognises. Unknown ones are carried through as strings.
const (
	MediaTypeDockerManifest      = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList  = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	MediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
	MediaTypeDockerConfig        = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer         = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerForeignLayer  = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	MediaTypeOCIManifest         = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex            = "application/vnd.oci.image.index.v1+json"
	MediaTypeOCIConfig           = "application/vnd.oci.image.config.v1+json"
	MediaTypeOCILayer            = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeOCILayerGzip        = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeOCILayerZstd        = "application/vnd.oci.image.layer.v1.tar+zstd"
	MediaTypeInToto              = "application/vnd.in-toto+json"
)

// Annotation keys with meaning to strata.
const (
	AnnotationBaseName        = "org.opencontainers.image.base.name"
	AnnotationBaseDigest      = "org.opencontainers.image.base.digest"
	AnnotationRefName         = "org.opencontainers.image.ref.name"
	AnnotationDockerRefType   = "vnd.docker.reference.type" // "attestation-manifest"
	AnnotationDockerRefDigest = "vnd.docker.reference.digest"
	AnnotationInTotoPredicate = "in-toto.io/predicate-type"
	AttestationManifestType   = "attestation-manifest"
)

// Image is one platform-specific image: what a manifest (or a daemon's
// inspect, or a schema 1 manifest) says, with its config and history.
type Image struct {
	// Reference is the normalised name the user asked for
	// (index.docker.io/library/nginx:latest, oci:/dir:tag, file.tar).
	Reference string `json:"reference"`
	// Transport names where the image was read from: registry, daemon,
	// docker-archive, oci-archive, oci-layout.
	Transport string `json:"transport"`

	// ManifestDigest is the digest of the platform manifest. Empty where no
	// manifest exists as bytes (a legacy docker save, a daemon image).
	ManifestDigest    string            `json:"manifestDigest,omitempty"`
	ManifestMediaType string            `json:"manifestMediaType,omitempty"`
	ManifestSize      int64             `json:"manifestSize,omitempty"`
	SchemaVersion     int               `json:"schemaVersion,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	// ID is the image ID as the source knows it: the config digest where the
	// config blob is at hand (registry, archives, layouts, a classic-store
	// dockerd); a daemon with the containerd image store (Docker 29)
	// identifies images by their manifest or index digest, and that is what
	// it reports. Empty for schema 1.
	ID              string   `json:"id,omitempty"`
	ConfigMediaType string   `json:"configMediaType,omitempty"`
	Platform        Platform `json:"platform"`
	Config          Config   `json:"config"`
	// RawConfig is the config blob exactly as stored; nil where the
	// transport only offers a reconstructed config (daemon, schema 1).
	RawConfig []byte `json:"-"`

	Layers []Layer `json:"layers"`
	// History is the config's history, the only copy the model keeps: each
	// entry as stored, paired with the layer it produced (see Pair).
	History []HistoryEntry `json:"history"`
	// PairingProblem is non-empty when history and layers could not be
	// paired one-to-one; the pairing kept is a best effort and says so.
	PairingProblem string `json:"pairingProblem,omitempty"`

	// Index is the manifest list / OCI index the image was chosen from.
	Index *Index `json:"index,omitempty"`
	// RepoTags are the names a docker save archive or daemon knows it by.
	RepoTags []string `json:"repoTags,omitempty"`
	// Notes are transport remarks worth showing (e.g. "empty_layer inferred").
	Notes []string `json:"notes,omitempty"`
}

// Platform is an OCI platform.
type Platform struct {
	OS           string   `json:"os"`
	Architecture string   `json:"architecture"`
	Variant      string   `json:"variant,omitempty"`
	OSVersion    string   `json:"os.version,omitempty"`
	OSFeatures   []string `json:"os.features,omitempty"`
}

// String renders os/arch[/variant], or "" when the platform is unknown.
func (p Platform) String() string {
	if p.OS == "" && p.Architecture == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Layer is one file-system layer in application order (base first).
type Layer struct {
	// Digest and Size describe the blob as stored (compressed); either may
	// be empty/-1 where the transport has no blob (daemon).
	Digest    string `json:"digest,omitempty"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType,omitempty"`
	// DiffID is the digest of the uncompressed tar, from rootfs.diff_ids.
	DiffID string `json:"diffID,omitempty"`
	// UncompressedSize is the tar stream size where known, else -1.
	UncompressedSize int64             `json:"uncompressedSize"`
	Annotations      map[string]string `json:"annotations,omitempty"`
	URLs             []string          `json:"urls,omitempty"`
}

// HistoryEntry is one build step: the config's history entry as stored,
// and the layer it produced.
type HistoryEntry struct {
	History
	// Layer is the index into Image.Layers this step produced, or -1 for an
	// empty step (or one left unpaired by a mismatch).
	Layer int `json:"layer"`
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Platform     *Platform         `json:"platform,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

// IsAttestation reports whether d is a BuildKit attestation manifest (or an
// "unknown/unknown" platform entry that points at one).
func (d Descriptor) IsAttestation() bool {
	return d.Annotations[AnnotationDockerRefType] == AttestationManifestType
}

// Index is a manifest list or OCI index.
type Index struct {
	Digest      string            `json:"digest,omitempty"`
	MediaType   string            `json:"mediaType"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Manifests are the runnable image manifests (attestations excluded).
	Manifests []Descriptor `json:"manifests"`
	// Attestations are attestation manifests, each annotated with the
	// digest of the image manifest it describes.
	Attestations []Descriptor `json:"attestations,omitempty"`
	// Chosen is the descriptor of the manifest this image was taken from.
	Chosen *Descriptor `json:"chosen,omitempty"`
}

// Platforms lists the platforms in the index, in order.
func (ix *Index) Platforms() []Platform {
	var out []Platform
	for _, m := range ix.Manifests {
		if m.Platform != nil {
			out = append(out, *m.Platform)
		}
	}
	return out
}

// AttestationFor returns the attestation manifest that describes the image
// manifest with the given digest.
func (ix *Index) AttestationFor(manifestDigest string) (Descriptor, bool) {
	if ix == nil {
		return Descriptor{}, false
	}
	for _, a := range ix.Attestations {
		if a.Annotations[AnnotationDockerRefDigest] == manifestDigest {
			return a, true
		}
	}
	return Descriptor{}, false
}

// DiffIDs lists the layers' diff_ids in order.
func (img *Image) DiffIDs() []string {
	out := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = l.DiffID
	}
	return out
}

// BlobDigests lists the layers' compressed digests in order (empty strings
// where the transport has none).
func (img *Image) BlobDigests() []string {
	out := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = l.Digest
	}
	return out
}
