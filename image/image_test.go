package image

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
)

func TestPairHistory(t *testing.T) {
	h := func(empty ...bool) []History {
		var out []History
		for i, e := range empty {
			out = append(out, History{CreatedBy: string(rune('a' + i)), EmptyLayer: e})
		}
		return out
	}
	cases := []struct {
		name    string
		hist    []History
		layers  int
		want    []int
		problem string
	}{
		{"exact", h(false, true, false, true), 2, []int{0, -1, 1, -1}, ""},
		{"all empty", h(true, true), 0, []int{-1, -1}, ""},
		{"more history than layers", h(false, false, false), 2, []int{0, 1, -1}, "the last 1 entry is unpaired"},
		{"fewer history than layers", h(false, true), 3, []int{0, -1}, "top 2 layers have no history"},
		{"no history", nil, 2, nil, "2 layers but no history"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := &Image{Layers: make([]Layer, c.layers)}
			img.SetHistory(c.hist)
			var idx []int
			for i, e := range img.History {
				idx = append(idx, e.Layer)
				if e.History != c.hist[i] {
					t.Errorf("entry %d stored fields %+v, want %+v", i, e.History, c.hist[i])
				}
			}
			if !slices.Equal(idx, c.want) {
				t.Fatalf("got %v, want %v", idx, c.want)
			}
			if (c.problem == "") != (img.PairingProblem == "") || !strings.Contains(img.PairingProblem, c.problem) {
				t.Errorf("problem %q, want %q", img.PairingProblem, c.problem)
			}
			// Pairing again after the layers change keeps one history.
			img.Layers = append(img.Layers, Layer{})
			img.Pair()
			if len(img.History) != len(c.hist) {
				t.Errorf("re-pairing changed the history length to %d", len(img.History))
			}
		})
	}
}

// The config blob's JSON decodes into ConfigFile with its history, and the
// model's JSON carries that history once: beside the layers, not in config.
func TestConfigFileHistoryOnce(t *testing.T) {
	blob := `{"architecture":"amd64","os":"linux","config":{"Env":["A=b"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},
		"history":[{"created_by":"ADD x /","comment":"c"},{"created_by":"ENV A=b","empty_layer":true}]}`
	var cf ConfigFile
	if err := json.Unmarshal([]byte(blob), &cf); err != nil {
		t.Fatal(err)
	}
	if len(cf.History) != 2 || cf.Config.Config.Env[0] != "A=b" || cf.RootFS.DiffIDs[0] != "sha256:aa" {
		t.Fatalf("decoded %+v", cf)
	}
	img := &Image{Config: cf.Config, Layers: []Layer{{DiffID: "sha256:aa"}}}
	img.SetHistory(cf.History)
	out, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if _, ok := back["config"].(map[string]any)["history"]; ok {
		t.Errorf("the model's config carries a second history: %s", out)
	}
	hist := back["history"].([]any)
	first := hist[0].(map[string]any)
	if len(hist) != 2 || first["created_by"] != "ADD x /" || first["comment"] != "c" || first["layer"] != 0.0 {
		t.Errorf("history in the model's JSON: %v", hist)
	}
	if !slices.Equal(img.StoredHistory(), cf.History) {
		t.Errorf("stored history %+v, want %+v", img.StoredHistory(), cf.History)
	}
}

func TestUnpairedLayers(t *testing.T) {
	img := &Image{Layers: make([]Layer, 3)}
	img.SetHistory([]History{{}, {EmptyLayer: true}})
	if got := img.UnpairedLayers(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("unpaired %v, want [1 2]", got)
	}
}

// ChainIDs must agree with the OCI image-spec's own implementation.
func TestChainIDsMatchImageSpec(t *testing.T) {
	ids := []string{
		"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
		"sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	}
	var ds []digest.Digest
	for _, id := range ids {
		ds = append(ds, digest.Digest(id))
	}
	want := identity.ChainIDs(ds)
	got := ChainIDs(ids)
	for i := range want {
		if got[i] != want[i].String() {
			t.Errorf("ChainID %d = %s, want %s", i, got[i], want[i])
		}
	}
	if len(ChainIDs(nil)) != 0 {
		t.Error("ChainIDs(nil) not empty")
	}
}

func TestChoosingHelpers(t *testing.T) {
	ix := &Index{Manifests: []Descriptor{{Digest: "sha256:m1", Platform: &Platform{OS: "linux", Architecture: "amd64"}}},
		Attestations: []Descriptor{{Digest: "sha256:att", Annotations: map[string]string{AnnotationDockerRefType: AttestationManifestType, AnnotationDockerRefDigest: "sha256:m1"}}}}
	if a, ok := ix.AttestationFor("sha256:m1"); !ok || a.Digest != "sha256:att" || !a.IsAttestation() {
		t.Errorf("AttestationFor: %v %v", a, ok)
	}
	if _, ok := (*Index)(nil).AttestationFor("x"); ok {
		t.Error("nil index has no attestation")
	}
	if p := (Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}).String(); p != "linux/arm64/v8" {
		t.Errorf("platform %q", p)
	}
}

func TestPlatformSatisfies(t *testing.T) {
	arm64 := Platform{OS: "linux", Architecture: "arm64"}
	arm64v8 := Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	armv7 := Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	for _, c := range []struct {
		have, want Platform
		ok         bool
	}{
		{arm64, arm64v8, true}, // arm64's implicit v8
		{arm64v8, arm64, true},
		{armv7, Platform{OS: "linux", Architecture: "arm"}, true},
		{armv7, Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, false},
		{Platform{OS: "windows", Architecture: "amd64"}, Platform{OS: "linux", Architecture: "amd64"}, false},
	} {
		if got := c.have.Satisfies(c.want); got != c.ok {
			t.Errorf("%s satisfies %s = %v, want %v", c.have, c.want, got, c.ok)
		}
	}
	if h := HostPlatform(); h.OS != "linux" || h.Architecture == "" {
		t.Errorf("host platform %v", h)
	}
}

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{{1, "layer", "1 layer"}, {0, "layer", "0 layers"}, {2, "entry", "2 entries"}, {1, "non-empty entry", "1 non-empty entry"}, {3, "key", "3 keys"}} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
