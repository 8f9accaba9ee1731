package source

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-tool/strata/image"
)

// maxMetadata bounds manifests, indexes and configs: real ones are a few KB,
// so anything larger is refused rather than read into memory.
const maxMetadata = 16 << 20

// rawManifest covers schema 2, OCI manifests and indexes in one shape; the
// media type (or the fields present) says which it is.
type rawManifest struct {
	SchemaVersion int                `json:"schemaVersion"`
	MediaType     string             `json:"mediaType"`
	ArtifactType  string             `json:"artifactType"`
	Config        *image.Descriptor  `json:"config"`
	Layers        []image.Descriptor `json:"layers"`
	Manifests     []image.Descriptor `json:"manifests"`
	Annotations   map[string]string  `json:"annotations"`
	Subject       *image.Descriptor  `json:"subject"`
	// Schema 1.
	FSLayers []struct {
		BlobSum string `json:"blobSum"`
	} `json:"fsLayers"`
	History []struct {
		V1Compatibility string `json:"v1Compatibility"`
	} `json:"history"`
	Architecture string `json:"architecture"`
}

// kind of a manifest document, decided from its media type or, when that is
// missing (older OCI writers omit it), from its fields.
type kind int

const (
	kindUnknown kind = iota
	kindImage
	kindIndex
	kindSchema1
)

func parseManifest(b []byte, declared string) (*rawManifest, string, kind, error) {
	var m rawManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", kindUnknown, fmt.Errorf("manifest is not JSON: %w (%w)", err, ErrCorrupt)
	}
	mt := m.MediaType
	if mt == "" {
		mt = declared
	}
	switch mt {
	case image.MediaTypeDockerManifestList, image.MediaTypeOCIIndex:
		return &m, mt, kindIndex, nil
	case image.MediaTypeDockerManifest, image.MediaTypeOCIManifest:
		return &m, mt, kindImage, nil
	case image.MediaTypeDockerSchema1, image.MediaTypeDockerSchema1Signed, "application/json":
		if m.SchemaVersion == 1 {
			return &m, mt, kindSchema1, nil
		}
	}
	switch {
	case m.SchemaVersion == 1 && m.FSLayers != nil:
		return &m, image.MediaTypeDockerSchema1, kindSchema1, nil
	case m.Manifests != nil && m.Config == nil:
		if mt == "" {
			mt = image.MediaTypeOCIIndex
		}
		return &m, mt, kindIndex, nil
	case m.Config != nil:
		if mt == "" {
			mt = image.MediaTypeOCIManifest
		}
		return &m, mt, kindImage, nil
	}
	if mt == "" {
		mt = "(none)"
	}
	return nil, mt, kindUnknown, fmt.Errorf("manifest media type %s: %w", mt, ErrUnsupported)
}

// toIndex splits an index's entries into runnable manifests and BuildKit
// attestation manifests (kept for provenance, never chosen as the image).
func toIndex(m *rawManifest, mediaType, digest string) *image.Index {
	ix := &image.Index{Digest: digest, MediaType: mediaType, Annotations: m.Annotations}
	for _, d := range m.Manifests {
		if d.IsAttestation() {
			ix.Attestations = append(ix.Attestations, d)
			continue
		}
		ix.Manifests = append(ix.Manifests, d)
	}
	return ix
}

// choosePlatform picks the index entry for want, the way docker does:
// os and architecture must match; a requested variant must match (arm64's
// implicit v8 included); without a requested variant the first match wins.
func choosePlatform(ix *image.Index, want image.Platform) (image.Descriptor, error) {
	var candidates []image.Descriptor
	for _, d := range ix.Manifests {
		if d.Platform == nil {
			continue
		}
		if d.Platform.Satisfies(want) {
			candidates = append(candidates, d)
		}
	}
	if len(candidates) > 0 {
		// Prefer the entry whose variant matches the default (e.g. arm64/v8
		// over an odd variant) when none was asked for.
		sort.SliceStable(candidates, func(i, j int) bool {
			return candidates[i].Platform.NormVariant() == want.NormVariant() && candidates[j].Platform.NormVariant() != want.NormVariant()
		})
		return candidates[0], nil
	}
	// An index without platforms (some OCI layouts) with a single manifest
	// is unambiguous.
	if len(ix.Manifests) == 1 && ix.Manifests[0].Platform == nil {
		return ix.Manifests[0], nil
	}
	var have []string
	for _, d := range ix.Manifests {
		if d.Platform != nil {
			have = append(have, d.Platform.String())
		} else {
			have = append(have, "(no platform) "+d.Digest)
		}
	}
	return image.Descriptor{}, fmt.Errorf("no %s image in the index (it has: %s): %w", want.String(), strings.Join(have, ", "), ErrPlatformNotFound)
}

// buildImage assembles the model from an image manifest and its config.
func buildImage(m *rawManifest, mediaType, manifestDigest string, manifestSize int64, configBytes []byte) (*image.Image, error) {
	img := &image.Image{
		ManifestDigest:    manifestDigest,
		ManifestMediaType: mediaType,
		ManifestSize:      manifestSize,
		SchemaVersion:     m.SchemaVersion,
		Annotations:       m.Annotations,
	}
	if m.Config != nil {
		img.ID = m.Config.Digest
		img.ConfigMediaType = m.Config.MediaType
	}
	if err := applyConfig(img, configBytes); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		img.Layers = append(img.Layers, image.Layer{
			Digest: l.Digest, Size: l.Size, MediaType: l.MediaType,
			UncompressedSize: -1, Annotations: l.Annotations,
		})
	}
	if err := attachDiffIDs(img); err != nil {
		return nil, err
	}
	img.Pair()
	return img, nil
}

// applyConfig parses a config blob into img.Config and the platform.
func applyConfig(img *image.Image, configBytes []byte) error {
	var cfg image.ConfigFile
	if err := json.Unmarshal(configBytes, &cfg); err != nil {
		return fmt.Errorf("config %s is not an image config: %w (%w)", img.ID, err, ErrCorrupt)
	}
	img.Config = cfg.Config
	img.SetHistory(cfg.History) // paired again once the layers are known
	img.RawConfig = configBytes
	img.Platform = image.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion, OSFeatures: cfg.OSFeatures}
	return nil
}

// attachDiffIDs copies rootfs.diff_ids onto the layers. A count mismatch is
// a broken image: the manifest and config disagree about its layers.
func attachDiffIDs(img *image.Image) error {
	ids := img.Config.RootFS.DiffIDs
	if len(img.Layers) == 0 {
		for _, id := range ids {
			img.Layers = append(img.Layers, image.Layer{DiffID: id, Size: -1, UncompressedSize: -1})
		}
		return nil
	}
	if len(ids) != len(img.Layers) {
		return fmt.Errorf("manifest lists %d layers but config has %d diff_ids: %w", len(img.Layers), len(ids), ErrCorrupt)
	}
	for i := range img.Layers {
		img.Layers[i].DiffID = ids[i]
	}
	return nil
}

// checkImageConfigType refuses artifacts (Helm charts, signatures, SBOMs)
// stored with image manifests: their "config" is not an image config.
func checkImageConfigType(m *rawManifest) error {
	switch m.Config.MediaType {
	case image.MediaTypeDockerConfig, image.MediaTypeOCIConfig, "", "application/octet-stream":
		for _, l := range m.Layers {
			if !isLayerMediaType(l.MediaType) {
				return fmt.Errorf("layer %s has media type %s, not a file-system layer (an artifact, not a container image): %w", l.Digest, l.MediaType, ErrUnsupported)
			}
		}
		return nil
	}
	if m.ArtifactType != "" {
		return fmt.Errorf("an OCI artifact of type %s, not a container image: %w", m.ArtifactType, ErrUnsupported)
	}
	return fmt.Errorf("config media type %s is not a container image config (an artifact?): %w", m.Config.MediaType, ErrUnsupported)
}

// isLayerMediaType accepts the tar layer types of Docker and OCI (any
// compression, foreign and non-distributable variants, and an absent type).
func isLayerMediaType(mt string) bool {
	return mt == "" || strings.Contains(mt, ".tar") || strings.Contains(mt, "rootfs.diff") || mt == "application/octet-stream"
}
