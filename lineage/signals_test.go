package lineage

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/image"
)

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

type h struct {
	by, comment string
	empty       bool
}

// build makes an image from history steps; each non-empty step gets a
// layer whose diff_id and blob digest derive from layerNames in order.
func build(ref string, steps []h, layerNames ...string) *image.Image {
	img := &image.Image{Reference: ref, Platform: image.Platform{OS: "linux", Architecture: "amd64"}}
	for _, n := range layerNames {
		img.Layers = append(img.Layers, image.Layer{DiffID: digestOf(n), Digest: digestOf("gz:" + n), Size: 1})
	}
	var hist []image.History
	for _, s := range steps {
		hist = append(hist, image.History{CreatedBy: s.by, Comment: s.comment, EmptyLayer: s.empty})
	}
	img.SetHistory(hist)
	return img
}

var (
	alpineSteps = []h{{by: "/bin/sh -c #(nop) ADD file:0000000000000000000000000000000000000000000000000000000000000001 in / "}, {by: `/bin/sh -c #(nop)  CMD ["/bin/sh"]`, empty: true}}
	appSteps    = []h{{by: "/bin/sh -c apk add curl"}, {by: `/bin/sh -c #(nop)  CMD ["curl"]`, empty: true}}
)

func withSteps(base []h, more ...h) []h { return append(append([]h(nil), base...), more...) }

func memCatalog(t *testing.T, imgs map[string]*image.Image) catalog.Catalog {
	t.Helper()
	c, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for ref, img := range imgs {
		f := catalog.ParseFilter(ref)
		e := catalog.FromImage(img, f.Name, f.Tag)
		if err := c.Add(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestDeclaredSignals(t *testing.T) {
	ctx := context.Background()
	child := func() *image.Image { return build("app", withSteps(alpineSteps, appSteps...), "alpine", "curl") }
	buildinfo := func(sources string) []byte {
		return []byte(`{"moby.buildkit.buildinfo.v1":"` + base64.StdEncoding.EncodeToString([]byte(`{"frontend":"dockerfile.v0","sources":`+sources+`}`)) + `"}`)
	}
	tests := []struct {
		name       string
		mod        func(*image.Image)
		materials  []Material
		cat        map[string]*image.Image
		want       string // ancestry
		confidence string
		signal     string
		note       string // a substring some note must contain
	}{
		{
			name: "manifest annotation, nothing catalogued: layers from the history boundary",
			mod: func(i *image.Image) {
				i.Annotations = map[string]string{image.AnnotationBaseName: "docker.io/library/alpine:3.17", image.AnnotationBaseDigest: digestOf("alpine-index")}
			},
			want: "docker.io/library/alpine:3.17(1)", confidence: Declared, signal: SignalAnnotation,
		},
		{
			name: "index descriptor annotation verified by the catalog",
			mod: func(i *image.Image) {
				i.Index = &image.Index{Chosen: &image.Descriptor{Annotations: map[string]string{image.AnnotationBaseName: "alpine:3.17"}}}
			},
			cat:  map[string]*image.Image{"alpine:3.17": build("alpine:3.17", alpineSteps, "alpine")},
			want: "alpine:3.17(1)", confidence: Verified, signal: SignalChain,
		},
		{
			name: "annotation contradicted by the catalog",
			mod: func(i *image.Image) {
				i.Annotations = map[string]string{image.AnnotationBaseName: "alpine:3.18"}
			},
			cat:  map[string]*image.Image{"alpine:3.18": build("alpine:3.18", alpineSteps, "alpine-3.18")},
			want: "alpine:3.18(1)", confidence: Declared, signal: SignalAnnotation,
			note: "its layers are not this image's bottom layers",
		},
		{
			name: "buildah FROM comment gives the boundary exactly",
			mod: func(i *image.Image) {
				i.History[2].Comment = "FROM docker.io/library/busybox:latest"
			},
			want: "docker.io/library/busybox:latest(1)", confidence: Declared, signal: SignalBuildah,
		},
		{
			name: "buildinfo, the Dockerfile frontend image ignored",
			mod: func(i *image.Image) {
				i.RawConfig = buildinfo(`[{"type":"docker-image","ref":"docker.io/docker/dockerfile:1.4","pin":"sha256:aa"},{"type":"docker-image","ref":"docker.io/library/alpine:3.17","pin":"` + digestOf("x") + `"}]`)
			},
			want: "docker.io/library/alpine:3.17(1)", confidence: Declared, signal: SignalBuildInfo,
		},
		{
			name: "FROM scratch declared: no ancestor, a note",
			mod: func(i *image.Image) {
				i.Annotations = map[string]string{image.AnnotationBaseName: "scratch"}
			},
			// The history fingerprint still applies and says so as a guess.
			want: "?(1)", confidence: Guess, signal: SignalFingerprint, note: "FROM scratch",
		},
		{
			name:      "provenance of a multi-stage build names every stage's base",
			materials: []Material{{Ref: "docker.io/library/golang:1.22"}, {Ref: "docker.io/library/alpine:3.17"}, {Ref: "docker.io/docker/dockerfile:1"}},
			want:      "docker.io/library/golang:1.22|docker.io/library/alpine:3.17(1)", confidence: Declared, signal: SignalProvenance,
		},
		{
			name:      "provenance picks among catalogued images with the same layers",
			materials: []Material{{Ref: "docker.io/library/alpine:3.17", Digest: digestOf("x")}},
			cat: map[string]*image.Image{
				"alpine:3.17":     build("alpine:3.17", alpineSteps, "alpine"),
				"a:3.17":          build("m", alpineSteps, "alpine"),
				"aaa/mirror:3.17": build("m2", alpineSteps, "alpine"),
			},
			// Without the declaration the plainest name, a:3.17, would lead.
			want: "alpine:3.17|a:3.17|aaa/mirror:3.17(1)", confidence: Verified, signal: SignalChain,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := child()
			if tt.mod != nil {
				tt.mod(img)
			}
			var c catalog.Catalog
			if tt.cat != nil {
				c = memCatalog(t, tt.cat)
			}
			r, err := Resolve(ctx, c, Input{Image: img, Materials: tt.materials})
			if err != nil {
				t.Fatal(err)
			}
			if got := ancestry(r); got != tt.want {
				t.Fatalf("ancestry %s, want %s (notes %v)", got, tt.want, r.Notes)
			}
			s := r.Ancestry[0]
			if s.Confidence != tt.confidence || s.Signals[0] != tt.signal {
				t.Errorf("confidence %s signals %v, want %s %s", s.Confidence, s.Signals, tt.confidence, tt.signal)
			}
			if tt.note != "" && !strings.Contains(strings.Join(r.Notes, "\n"), tt.note) {
				t.Errorf("no note containing %q: %v", tt.note, r.Notes)
			}
			if strings.Contains(strings.Join(r.Notes, "\n"), "unknown") {
				t.Errorf("a declared parent was also reported unknown: %v", r.Notes)
			}
		})
	}
}

func TestFingerprints(t *testing.T) {
	tests := []struct {
		name  string
		steps []h
		want  string
		note  string
	}{
		{"debuerreotype", []h{{by: "# debian.sh --arch 'amd64' out/ 'trixie' '@1785715200'", comment: "debuerreotype 0.16"}, {by: "RUN /bin/sh -c apt-get update # buildkit", comment: "buildkit.dockerfile.v0"}}, "debian:trixie(1)", ""},
		{"alpine minirootfs", []h{{by: "ADD alpine-minirootfs-3.23.6-x86_64.tar.gz / # buildkit"}, {by: `CMD ["/bin/sh"]`, empty: true}, {by: "RUN /bin/sh -c apk add x # buildkit"}}, "alpine:3.23.6(1)", ""},
		{"ubuntu launchpad", []h{{by: "/bin/sh -c #(nop)  ARG RELEASE", empty: true}, {by: "/bin/sh -c #(nop)  LABEL org.opencontainers.image.version=22.04", empty: true}, {by: "/bin/sh -c #(nop) ADD file:0000000000000000000000000000000000000000000000000000000000000002 in / "}, {by: `/bin/sh -c #(nop)  CMD ["/bin/bash"]`, empty: true}, {by: "/bin/sh -c apt-get update"}}, "ubuntu:22.04(1)", ""},
		{"anonymous rootfs", withSteps(alpineSteps, appSteps...), "?(1)", ""},
		{"nothing known", []h{{by: "/bin/sh -c make"}, {by: "/bin/sh -c make install"}}, "", "base unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := build("x", tt.steps, "l1", "l2")
			r, err := Resolve(context.Background(), nil, Input{Image: img})
			if err != nil {
				t.Fatal(err)
			}
			if got := ancestry(r); got != tt.want {
				t.Fatalf("ancestry %q, want %q", got, tt.want)
			}
			for _, s := range r.Ancestry {
				if s.Confidence != Guess {
					t.Errorf("a fingerprint is not labelled a guess: %s", s.Confidence)
				}
			}
			if tt.note != "" && !strings.Contains(strings.Join(r.Notes, "\n"), tt.note) {
				t.Errorf("notes %v", r.Notes)
			}
		})
	}
}

// TestSharedDepthRevealsParent: a catalogued sibling shares more layers
// than any catalogued ancestor, so a common parent exists, unnamed.
func TestSharedDepthRevealsParent(t *testing.T) {
	base := build("base", alpineSteps, "alpine")
	sibling := build("sib", withSteps(alpineSteps, h{by: "/bin/sh -c mid"}, h{by: "/bin/sh -c sib"}), "alpine", "mid", "sib")
	c := memCatalog(t, map[string]*image.Image{"base:1": base, "sibling:1": sibling})
	img := build("me", withSteps(alpineSteps, h{by: "/bin/sh -c mid"}, h{by: "/bin/sh -c me"}), "alpine", "mid", "me")
	r, err := Resolve(context.Background(), c, Input{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if got := ancestry(r); got != "?(2) → base:1(1)" {
		t.Fatalf("ancestry %s", got)
	}
	if !strings.Contains(strings.Join(r.Ancestry[0].Evidence, " "), "shares exactly the first 2 layers") {
		t.Errorf("evidence %v", r.Ancestry[0].Evidence)
	}
}
