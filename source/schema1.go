package source

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/strata-tool/strata/image"
)

// emptyTarGzip is the blob schema 1 used for "throwaway" layers: a gzipped
// empty tar (skopeo#393). It produces no file-system change.
const emptyTarGzip = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"

type v1Compat struct {
	ID              string          `json:"id"`
	Parent          string          `json:"parent"`
	Created         *time.Time      `json:"created"`
	Author          string          `json:"author"`
	Comment         string          `json:"comment"`
	Throwaway       bool            `json:"throwaway"`
	Architecture    string          `json:"architecture"`
	OS              string          `json:"os"`
	Variant         string          `json:"variant"`
	DockerVersion   string          `json:"docker_version"`
	Container       string          `json:"container"`
	Config          json.RawMessage `json:"config"`
	ContainerConfig struct {
		Cmd []string `json:"Cmd"`
	} `json:"container_config"`
	Size int64 `json:"Size"`
}

// schema1Image maps a schema 1 manifest into the model: fsLayers and
// history are newest first, each history entry's v1Compatibility carries
// the step's command, and the newest carries the image config. There are no
// diff_ids (schema 1 never recorded them), so Layers have blob digests only.
func schema1Image(m *rawManifest, mediaType, digest string, size int64) (*image.Image, error) {
	if len(m.History) != len(m.FSLayers) {
		return nil, fmt.Errorf("schema 1 manifest has %d fsLayers but %d history entries: %w", len(m.FSLayers), len(m.History), ErrCorrupt)
	}
	img := &image.Image{ManifestDigest: digest, ManifestMediaType: mediaType, ManifestSize: size, SchemaVersion: 1}
	for i := len(m.History) - 1; i >= 0; i-- {
		var v v1Compat
		if err := json.Unmarshal([]byte(m.History[i].V1Compatibility), &v); err != nil {
			return nil, fmt.Errorf("schema 1 history %d: %w (%w)", i, err, ErrCorrupt)
		}
		blob := m.FSLayers[i].BlobSum
		empty := v.Throwaway || blob == emptyTarGzip
		img.History = append(img.History, image.HistoryEntry{History: image.History{
			Created: v.Created, Author: v.Author, Comment: v.Comment,
			CreatedBy: strings.Join(v.ContainerConfig.Cmd, " "), EmptyLayer: empty,
		}})
		if !empty {
			img.Layers = append(img.Layers, image.Layer{Digest: blob, Size: -1, UncompressedSize: -1, MediaType: image.MediaTypeDockerLayer})
		}
		if i == 0 {
			if err := schema1Config(img, v); err != nil {
				return nil, err
			}
		}
	}
	img.Platform = image.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
	if img.Platform.Architecture == "" {
		img.Platform.Architecture = m.Architecture
		img.Config.Architecture = m.Architecture
	}
	img.Notes = append(img.Notes, "schema 1 manifest: no config blob and no diff_ids; config rebuilt from v1Compatibility")
	img.Pair()
	return img, nil
}

func schema1Config(img *image.Image, v v1Compat) error {
	c := &img.Config
	c.Created, c.Author, c.Architecture, c.OS, c.Variant = v.Created, v.Author, v.Architecture, v.OS, v.Variant
	c.DockerVersion, c.Container, c.Comment = v.DockerVersion, v.Container, v.Comment
	if len(v.Config) > 0 && string(v.Config) != "null" {
		if err := json.Unmarshal(v.Config, &c.Config); err != nil {
			return fmt.Errorf("schema 1 config: %w (%w)", err, ErrCorrupt)
		}
	}
	c.RootFS.Type = "layers"
	return nil
}
