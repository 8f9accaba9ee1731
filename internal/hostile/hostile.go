// Package hostile writes hostile images for tests: OCI layouts and docker
// save archives whose config, history and layer tars are exactly the bytes
// a test gives, so a test can feed strata what no honest builder writes
// (control characters, smuggled instructions, huge histories, sparse and
// degenerate layers). Test support only; nothing in strata imports it.
package hostile

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Image is one image to write. Config is the raw config blob; when nil,
// ConfigFrom(Spec) is used. Layers are uncompressed tars, in order.
type Image struct {
	Config []byte
	Layers [][]byte
	// RepoTags names the image in a docker save archive's manifest.json.
	RepoTags []string
	// RefName is the OCI layout's org.opencontainers.image.ref.name.
	RefName string
	// Annotations go on the manifest.
	Annotations map[string]string
}

// Entry is one history entry of a Spec.
type Entry struct {
	CreatedBy  string `json:"created_by,omitempty"`
	Comment    string `json:"comment,omitempty"`
	Author     string `json:"author,omitempty"`
	EmptyLayer bool   `json:"empty_layer,omitempty"`
}

// Spec is a config built from Go values (control characters survive:
// encoding/json writes them as \u escapes, which decode back to the byte).
type Spec struct {
	Author       string
	User         string
	WorkingDir   string
	StopSignal   string
	Env          []string
	Cmd          []string
	Entrypoint   []string
	Shell        []string
	OnBuild      []string
	Labels       map[string]string
	ExposedPorts []string
	Volumes      []string
	Healthcheck  []string
	History      []Entry
}

// ConfigFrom renders s as a linux/amd64 config whose rootfs lists the
// diff_ids of layers and whose history is s.History as given (the caller
// keeps the non-empty entries equal in number to the layers).
func ConfigFrom(s Spec, layers [][]byte) []byte {
	set := func(keys []string) map[string]struct{} {
		if keys == nil {
			return nil
		}
		m := map[string]struct{}{}
		for _, k := range keys {
			m[k] = struct{}{}
		}
		return m
	}
	cc := map[string]any{
		"User": s.User, "WorkingDir": s.WorkingDir, "StopSignal": s.StopSignal, "Env": s.Env,
		"Cmd": s.Cmd, "Entrypoint": s.Entrypoint, "Shell": s.Shell, "OnBuild": s.OnBuild,
		"Labels": s.Labels, "ExposedPorts": set(s.ExposedPorts), "Volumes": set(s.Volumes),
	}
	if s.Healthcheck != nil {
		cc["Healthcheck"] = map[string]any{"Test": s.Healthcheck}
	}
	ids := []string{}
	for _, l := range layers {
		ids = append(ids, Digest(l))
	}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	hist := make([]map[string]any, len(s.History))
	for i, h := range s.History {
		hist[i] = map[string]any{"created": created, "created_by": h.CreatedBy, "empty_layer": h.EmptyLayer}
		if h.Comment != "" {
			hist[i]["comment"] = h.Comment
		}
		if h.Author != "" {
			hist[i]["author"] = h.Author
		}
	}
	cfg := map[string]any{
		"architecture": "amd64", "os": "linux", "created": created, "author": s.Author,
		"config": cc, "rootfs": map[string]any{"type": "layers", "diff_ids": ids}, "history": hist,
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // only Go values of known types above
	}
	return b
}

// Digest is the sha256 digest of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// WriteLayout writes img as an OCI image layout in dir.
func WriteLayout(dir string, img Image) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	put := func(b []byte) (string, error) {
		d := Digest(b)
		return d, os.WriteFile(filepath.Join(blobs, d[len("sha256:"):]), b, 0o644)
	}
	mf, err := manifest(img)
	if err != nil {
		return err
	}
	for _, b := range append(append([][]byte{img.Config}, img.Layers...), mf) {
		if _, err := put(b); err != nil {
			return err
		}
	}
	desc := map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest(mf), "size": len(mf)}
	if img.RefName != "" {
		desc["annotations"] = map[string]string{"org.opencontainers.image.ref.name": img.RefName}
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []any{desc}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

func manifest(img Image) ([]byte, error) {
	if img.Config == nil {
		return nil, fmt.Errorf("hostile: image has no config")
	}
	var ls []any
	for _, l := range img.Layers {
		ls = append(ls, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": Digest(l), "size": len(l)})
	}
	m := map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest(img.Config), "size": len(img.Config)},
		"layers": ls,
	}
	if ls == nil {
		m["layers"] = []any{}
	}
	if img.Annotations != nil {
		m["annotations"] = img.Annotations
	}
	return json.Marshal(m)
}

// WriteArchive writes img as a docker save archive (manifest.json, the
// config as <hex>.json, each layer as <hex>/layer.tar) at file.
func WriteArchive(file string, img Image) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	cfgName := Digest(img.Config)[len("sha256:"):] + ".json"
	var layerNames []string
	for _, l := range img.Layers {
		n := Digest(l)[len("sha256:"):] + "/layer.tar"
		layerNames = append(layerNames, n)
		if err := add(n, l); err != nil {
			return err
		}
	}
	if err := add(cfgName, img.Config); err != nil {
		return err
	}
	tags := img.RepoTags
	if tags == nil {
		tags = []string{}
	}
	mf, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": tags, "Layers": layerNames}})
	if err := add("manifest.json", mf); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}
