package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/image"
)

// model is what every transport must agree on for one image. It is built
// twice: from the registry's bytes with this file's own decoding (the
// reference, independent of strata), and from strata's image.Image.
type model struct {
	Platform     string
	DiffIDs      []string
	History      []step
	Env          []string
	Cmd          []string
	Entrypoint   []string
	Labels       map[string]string
	User         string
	WorkingDir   string
	ExposedPorts []string
	Volumes      []string
	Healthcheck  *health
	Shell        []string
	StopSignal   string
	OnBuild      []string
}

type step struct {
	CreatedBy  string
	EmptyLayer bool
}

type health struct {
	Test                                          []string
	Interval, Timeout, StartPeriod, StartInterval int64
	Retries                                       int
}

// registryConfig is the image config as the registry serves it, decoded
// with tags written here rather than strata's, so a mistake in strata's
// model cannot hide in the reference too.
type registryConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant"`
	Config       struct {
		User         string                     `json:"User"`
		ExposedPorts map[string]json.RawMessage `json:"ExposedPorts"`
		Env          []string                   `json:"Env"`
		Entrypoint   []string                   `json:"Entrypoint"`
		Cmd          []string                   `json:"Cmd"`
		Volumes      map[string]json.RawMessage `json:"Volumes"`
		WorkingDir   string                     `json:"WorkingDir"`
		Labels       map[string]string          `json:"Labels"`
		StopSignal   string                     `json:"StopSignal"`
		Shell        []string                   `json:"Shell"`
		OnBuild      []string                   `json:"OnBuild"`
		Healthcheck  *struct {
			Test          []string `json:"Test"`
			Interval      int64    `json:"Interval"`
			Timeout       int64    `json:"Timeout"`
			StartPeriod   int64    `json:"StartPeriod"`
			StartInterval int64    `json:"StartInterval"`
			Retries       int      `json:"Retries"`
		} `json:"Healthcheck"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
}

// reference is what the registry holds for one pushed image.
type reference struct {
	Model             model
	ManifestDigest    string // the platform manifest's
	ManifestMediaType string
	ConfigDigest      string
	LayerDigests      []string
	FromIndex         bool
}

// registryManifest covers both a manifest and an index / manifest list.
type registryManifest struct {
	MediaType string `json:"mediaType"`
	Config    struct {
		Digest string `json:"digest"`
	} `json:"config"`
	Layers []struct {
		Digest string `json:"digest"`
	} `json:"layers"`
	Manifests []struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Annotations map[string]string `json:"annotations"`
		Platform    *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

const acceptManifests = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

// fetchReference reads host/repo:tag from a plain-HTTP registry with
// net/http: manifest (through an index to this host's platform, skipping
// attestation manifests), then the config blob, each digest-checked.
func fetchReference(t *testing.T, registryRef string) reference {
	t.Helper()
	host, repo, tag, err := splitRegistryRef(registryRef)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path, accept string) ([]byte, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("reference: GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("reference: GET %s: status %d, err %v", path, resp.StatusCode, err)
		}
		return b, resp.Header.Get("Content-Type")
	}
	var ref reference
	b, ct := get("/v2/"+repo+"/manifests/"+tag, acceptManifests)
	var m registryManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("reference: manifest of %s: %v", registryRef, err)
	}
	if m.MediaType == "" {
		m.MediaType = ct
	}
	platform := ""
	if len(m.Manifests) > 0 {
		ref.FromIndex = true
		chosen := ""
		for _, d := range m.Manifests {
			if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" || d.Platform == nil {
				continue
			}
			if d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
				chosen = d.Digest
				platform = platformString(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant)
				break
			}
		}
		if chosen == "" {
			t.Fatalf("reference: index of %s has no linux/%s manifest", registryRef, runtime.GOARCH)
		}
		b, ct = get("/v2/"+repo+"/manifests/"+chosen, acceptManifests)
		m = registryManifest{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("reference: manifest %s: %v", chosen, err)
		}
		if m.MediaType == "" {
			m.MediaType = ct
		}
	}
	ref.ManifestDigest = digestOf(b)
	ref.ManifestMediaType = m.MediaType
	ref.ConfigDigest = m.Config.Digest
	for _, l := range m.Layers {
		ref.LayerDigests = append(ref.LayerDigests, l.Digest)
	}
	cfg, _ := get("/v2/"+repo+"/blobs/"+m.Config.Digest, "")
	if got := digestOf(cfg); got != m.Config.Digest {
		t.Fatalf("reference: config blob of %s hashes to %s, manifest says %s", registryRef, got, m.Config.Digest)
	}
	ref.Model = modelFromConfig(t, cfg)
	if platform != "" {
		ref.Model.Platform = platform
	}
	return ref
}

func modelFromConfig(t *testing.T, raw []byte) model {
	t.Helper()
	var c registryConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("reference: decode config: %v", err)
	}
	m := model{
		Platform:     platformString(c.OS, c.Architecture, c.Variant),
		DiffIDs:      c.RootFS.DiffIDs,
		Env:          c.Config.Env,
		Cmd:          c.Config.Cmd,
		Entrypoint:   c.Config.Entrypoint,
		Labels:       c.Config.Labels,
		User:         c.Config.User,
		WorkingDir:   c.Config.WorkingDir,
		ExposedPorts: sortedKeys(c.Config.ExposedPorts),
		Volumes:      sortedKeys(c.Config.Volumes),
		Shell:        c.Config.Shell,
		StopSignal:   c.Config.StopSignal,
		OnBuild:      c.Config.OnBuild,
	}
	if h := c.Config.Healthcheck; h != nil {
		m.Healthcheck = &health{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	}
	for _, h := range c.History {
		m.History = append(m.History, step{CreatedBy: h.CreatedBy, EmptyLayer: h.EmptyLayer})
	}
	return m
}

// modelFromImage is the same view of strata's model.
func modelFromImage(img *image.Image) model {
	cc := img.Config.Config
	m := model{
		Platform:     platformString(img.Platform.OS, img.Platform.Architecture, img.Platform.Variant),
		DiffIDs:      img.DiffIDs(),
		Env:          cc.Env,
		Cmd:          cc.Cmd,
		Entrypoint:   cc.Entrypoint,
		Labels:       cc.Labels,
		User:         cc.User,
		WorkingDir:   cc.WorkingDir,
		ExposedPorts: sortedKeys(cc.ExposedPorts),
		Volumes:      sortedKeys(cc.Volumes),
		Shell:        cc.Shell,
		StopSignal:   cc.StopSignal,
		OnBuild:      cc.OnBuild,
	}
	if h := cc.Healthcheck; h != nil {
		m.Healthcheck = &health{Test: h.Test, Interval: int64(h.Interval), Timeout: int64(h.Timeout),
			StartPeriod: int64(h.StartPeriod), StartInterval: int64(h.StartInterval), Retries: h.Retries}
	}
	for _, h := range img.History {
		m.History = append(m.History, step{CreatedBy: h.CreatedBy, EmptyLayer: h.EmptyLayer})
	}
	return m
}

// compare lists every field where got differs from want. Nil and empty
// lists/maps are equal: builders write `"Entrypoint": []` where a converted
// config omits the key, and neither means anything different. ignore names
// fields a transport is known not to carry (see transportLosses).
func compare(want, got model, ignore map[string]bool) []string {
	var d []string
	check := func(field string, eq bool, w, g any) {
		if !eq && !ignore[field] {
			d = append(d, fmt.Sprintf("%s: want %v, got %v", field, w, g))
		}
	}
	check("Platform", want.Platform == got.Platform, want.Platform, got.Platform)
	check("DiffIDs", slices.Equal(want.DiffIDs, got.DiffIDs), want.DiffIDs, got.DiffIDs)
	check("Env", slices.Equal(want.Env, got.Env), want.Env, got.Env)
	check("Cmd", slices.Equal(want.Cmd, got.Cmd), want.Cmd, got.Cmd)
	check("Entrypoint", slices.Equal(want.Entrypoint, got.Entrypoint), want.Entrypoint, got.Entrypoint)
	check("Labels", mapsEqual(want.Labels, got.Labels), want.Labels, got.Labels)
	check("User", want.User == got.User, want.User, got.User)
	check("WorkingDir", want.WorkingDir == got.WorkingDir, want.WorkingDir, got.WorkingDir)
	check("ExposedPorts", slices.Equal(want.ExposedPorts, got.ExposedPorts), want.ExposedPorts, got.ExposedPorts)
	check("Volumes", slices.Equal(want.Volumes, got.Volumes), want.Volumes, got.Volumes)
	check("Healthcheck", healthEqual(want.Healthcheck, got.Healthcheck), want.Healthcheck, got.Healthcheck)
	check("Shell", slices.Equal(want.Shell, got.Shell), want.Shell, got.Shell)
	check("StopSignal", want.StopSignal == got.StopSignal, want.StopSignal, got.StopSignal)
	check("OnBuild", slices.Equal(want.OnBuild, got.OnBuild), want.OnBuild, got.OnBuild)

	if len(want.History) != len(got.History) {
		check("History", false, fmt.Sprintf("%d entries", len(want.History)), fmt.Sprintf("%d entries", len(got.History)))
		return d
	}
	for i := range want.History {
		w, g := want.History[i], got.History[i]
		check("History.CreatedBy", w.CreatedBy == g.CreatedBy, fmt.Sprintf("[%d] %q", i, w.CreatedBy), fmt.Sprintf("%q", g.CreatedBy))
		check("History.EmptyLayer", w.EmptyLayer == g.EmptyLayer, fmt.Sprintf("[%d] %v (%q)", i, w.EmptyLayer, w.CreatedBy), g.EmptyLayer)
	}
	return d
}

func healthEqual(a, b *health) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return slices.Equal(a.Test, b.Test) && a.Interval == b.Interval && a.Timeout == b.Timeout &&
		a.StartPeriod == b.StartPeriod && a.StartInterval == b.StartInterval && a.Retries == b.Retries
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func platformString(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// splitRegistryRef splits host/repo:tag (the form images.json records).
func splitRegistryRef(ref string) (host, repo, tag string, err error) {
	slash := strings.IndexByte(ref, '/')
	colon := strings.LastIndexByte(ref, ':')
	if slash < 0 || colon < slash {
		return "", "", "", fmt.Errorf("registry ref %q: want host/repo:tag", ref)
	}
	return ref[:slash], ref[slash+1 : colon], ref[colon+1:], nil
}
