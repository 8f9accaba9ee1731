package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// openBuilt opens one reference of an image scripts/build-test-images.sh built.
func openBuilt(t *testing.T, ref string) *image.Image {
	t.Helper()
	s, err := source.Open(context.Background(), ref, source.Options{Insecure: true, DockerHost: os.Getenv("STRATA_TEST_DOCKER_HOST")})
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	defer s.Close()
	return s.Image()
}

// catalogOf catalogues imgs (a name:tag each) in a fresh SQLite catalog.
func catalogOf(t *testing.T, imgs map[string]*image.Image) catalog.Catalog {
	t.Helper()
	c, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for ref, img := range imgs {
		f := catalog.ParseFilter(ref)
		if err := c.Add(context.Background(), catalog.FromImage(img, f.Name, f.Tag)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// buildahShapes is how each buildah/podman mode commits, which decides
// where it writes its FROM comment (see buildahDeclaration).
var buildahShapes = map[string]string{
	"buildah": "once", "podman-nolayers": "once",
	"buildah-layers": "layers", "podman": "layers",
	"buildah-squash": "squash", "buildah-squash-all": "squash",
}

// TestBuildahBoundary: for every image buildah or podman built FROM a
// registry image (child FROM the same builder's parent; crosschild, built
// committing once, FROM the classic builder's or BuildKit's parent), the
// base is named and its steps end exactly where the parent's history
// does — whether buildah wrote its FROM comment on the first own entry
// (--layers), on the last one (no --layers: the child's own steps sit
// between, recorded as empty) or squashed the base away. Read from the
// image alone, through several transports, and with the parent catalogued.
func TestBuildahBoundary(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range testenv.BuiltImages(t) {
		shape := buildahShapes[b.Builder]
		if (b.Name != "child" && b.Name != "crosschild") || shape == "" {
			continue
		}
		seen[b.Builder] = true
		t.Run(b.Name+"/"+b.Builder, func(t *testing.T) {
			parentRef := b.BuildArgs["PARENT"]
			parent := openBuilt(t, parentRef)
			wantLayers, wantEntries, wantBoundary := len(parent.Layers), len(parent.History), BoundaryExact
			switch shape {
			case "squash":
				wantLayers, wantEntries = 0, 0
			case "once":
				wantBoundary = BoundaryInferred
			}
			for _, transport := range []string{"registry", "oci-layout", "docker-archive"} {
				ref, ok := b.Refs[transport]
				if !ok {
					continue
				}
				img := openBuilt(t, ref)
				at := -1 // the step buildah wrote FROM <parent> on
				for i, h := range img.History {
					if strings.Contains(h.Comment, "/strata-test/parent:") {
						at = i
					}
				}
				for _, c := range []struct {
					what string
					cat  catalog.Catalog
				}{{"no catalog", nil}, {"parent catalogued", catalogOf(t, map[string]*image.Image{parentRef: parent})}} {
					r, err := Resolve(context.Background(), c.cat, Input{Image: img})
					if err != nil {
						t.Fatal(err)
					}
					if len(r.Ancestry) == 0 {
						t.Fatalf("%s, %s: no ancestry; notes %q", ref, c.what, r.Notes)
					}
					s := r.Ancestry[0]
					// podman names the image it found in its storage: for
					// crosschild another tag of the same parent image.
					if !strings.Contains(s.Name(), "/strata-test/parent:") {
						t.Errorf("%s, %s: nearest ancestor %q, want the parent %s", ref, c.what, s.Name(), parentRef)
					}
					if shape != "squash" || c.cat == nil {
						if s.Layers != wantLayers || s.Entries != wantEntries {
							t.Errorf("%s, %s: base accounts for %d layers and %d steps, want the parent's %d and %d\nevidence %q", ref, c.what, s.Layers, s.Entries, wantLayers, wantEntries, s.Evidence)
						}
					}
					if c.cat == nil && s.Boundary != wantBoundary {
						t.Errorf("%s: boundary %s, want %s (%q)", ref, s.Boundary, wantBoundary, s.Evidence)
					}
					if r.From.Kind != KindBase || r.From.Entries != s.Entries || r.From.Name != s.Name() {
						t.Errorf("%s, %s: FROM answer %+v does not follow the ancestry", ref, c.what, r.From)
					}
					// Step numbers are 1-based, as strata layers shows them.
					if c.cat == nil && at >= 0 && !strings.Contains(strings.Join(s.Evidence, " "), fmt.Sprintf("step %d", at+1)) {
						t.Errorf("%s: evidence does not name step %d, where buildah wrote its FROM comment: %q", ref, at+1, s.Evidence)
					}
				}
			}
		})
	}
	for _, want := range []string{"buildah", "podman-nolayers", "buildah-layers"} {
		if !seen[want] {
			t.Errorf("no child image built by %s (scripts/build-test-images.sh)", want)
		}
	}
}

// TestBuildahLayersBaseDigest: buildah --layers writes its own
// intermediate image's digest as org.opencontainers.image.base.digest (a
// manifest annotation; the config labels carry none). Nothing
// corroborating it, the digest is not pinned; with the parent catalogued
// the mismatch is said and the catalogued parent's digest — the layer
// evidence — is the one pinned. buildah --squash writes the right digest:
// the catalog corroborates it, so it is pinned.
func TestBuildahLayersBaseDigest(t *testing.T) {
	var layersChild, squashChild, layersParent, squashParent string
	for _, b := range testenv.BuiltImages(t) {
		switch b.Name + "/" + b.Builder {
		case "child/buildah-layers":
			layersChild = b.Refs["registry"]
		case "parent/buildah-layers":
			layersParent = b.Refs["registry"]
		case "child/buildah-squash":
			squashChild = b.Refs["registry"]
		case "parent/buildah-squash":
			squashParent = b.Refs["registry"]
		}
	}
	if layersChild == "" || layersParent == "" || squashChild == "" || squashParent == "" {
		t.Fatal("images.json lacks the buildah-layers or buildah-squash parent/child")
	}
	ctx := context.Background()
	child, parent := openBuilt(t, layersChild), openBuilt(t, layersParent)
	claimed := child.Annotations[image.AnnotationBaseDigest]
	if claimed == "" || claimed == parent.ManifestDigest {
		t.Fatalf("buildah --layers' manifest annotation base.digest is %q, the parent's digest %s: the premise of this test changed", claimed, parent.ManifestDigest)
	}
	if l := child.Config.Config.Labels[image.AnnotationBaseDigest]; l != "" {
		t.Errorf("buildah also wrote the base digest as a config label (%s)", l)
	}

	r, err := Resolve(ctx, nil, Input{Image: child})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Ancestry[0].Names[0].Digest; d != "" {
		t.Errorf("without a catalog the declared digest %s is kept as the base's, though nothing confirms it", d)
	}
	if r.From.Digest != "" || strings.Contains(r.From.Ref(), "@") {
		t.Errorf("FROM %s pins a digest nothing confirms", r.From.Ref())
	}
	if !strings.Contains(strings.Join(r.From.Caveats, " "), claimed+", which nothing confirms") {
		t.Errorf("the unconfirmed digest is not said: caveats %q", r.From.Caveats)
	}

	r, err = Resolve(ctx, catalogOf(t, map[string]*image.Image{layersParent: parent}), Input{Image: child})
	if err != nil {
		t.Fatal(err)
	}
	if r.From.Ref() != layersParent+"@"+parent.ManifestDigest {
		t.Errorf("FROM %s, want the catalogued parent by its own digest %s", r.From.Ref(), parent.ManifestDigest)
	}
	if ev := strings.Join(r.From.Evidence, " "); !strings.Contains(ev, claimed+", which is not") || !strings.Contains(ev, "did not match") {
		t.Errorf("the evidence does not say the declared digest did not match: %q", r.From.Evidence)
	}
	if !strings.Contains(strings.Join(r.Notes, " "), "did not match") {
		t.Errorf("no note says the declared digest did not match: %q", r.Notes)
	}

	child, parent = openBuilt(t, squashChild), openBuilt(t, squashParent)
	if child.Annotations[image.AnnotationBaseDigest] != parent.ManifestDigest {
		t.Fatalf("buildah --squash's base.digest %s is not the parent's %s: the premise of this test changed", child.Annotations[image.AnnotationBaseDigest], parent.ManifestDigest)
	}
	r, err = Resolve(ctx, catalogOf(t, map[string]*image.Image{squashParent: parent}), Input{Image: child})
	if err != nil {
		t.Fatal(err)
	}
	if r.From.Ref() != squashParent+"@"+parent.ManifestDigest {
		t.Errorf("squashed child: FROM %s, want the declared digest the catalog confirms (%s)", r.From.Ref(), parent.ManifestDigest)
	}
}

// TestScratchIsAnAnswer: every built image whose Dockerfile starts FROM
// scratch (all but child and crosschild) gets the one answer FROM
// scratch, with an empty (not null) ancestry, also when the catalog holds
// the image itself — which is then listed as identical, not as "no
// catalogued image matches".
func TestScratchIsAnAnswer(t *testing.T) {
	checked := 0
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == "child" || b.Name == "crosschild" {
			continue
		}
		checked++
		t.Run(b.Name+"/"+b.Builder, func(t *testing.T) {
			ref := b.Refs["registry"]
			img := openBuilt(t, ref)
			for _, cat := range []catalog.Catalog{nil, catalogOf(t, map[string]*image.Image{ref: img})} {
				r, err := Resolve(context.Background(), cat, Input{Image: img})
				if err != nil {
					t.Fatal(err)
				}
				if r.From.Kind != KindScratch || r.From.Ref() != "scratch" {
					t.Errorf("FROM answer %s %q, want scratch; evidence %q", r.From.Kind, r.From.Ref(), r.From.Evidence)
				}
				js, _ := json.Marshal(r)
				if !bytes.Contains(js, []byte(`"ancestry":[]`)) {
					t.Errorf("ancestry is not an empty array in JSON: %s", js)
				}
				var text bytes.Buffer
				if err := WriteText(&text, r); err != nil {
					t.Fatal(err)
				}
				out := text.String()
				if !strings.Contains(out, "\nbase scratch  [") || strings.Contains(out, "unknown") || strings.Contains(out, "no catalogued image matches") {
					t.Errorf("strata base text does not give the scratch answer alone:\n%s", out)
				}
				if cat != nil && (len(r.Identical) == 0 || !strings.Contains(out, "\nidentical: "+ref)) {
					t.Errorf("the catalogued image itself is not listed as identical:\n%s", out)
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no FROM scratch image built")
	}
}

// TestUnknownBoundarySaid: regclient's testrepo:v3 declares its base in
// index annotations, and nothing tells how many of its layers and steps
// are the base's: strata base says so in full, in text too.
func TestUnknownBoundarySaid(t *testing.T) {
	img := openLayout(t, "v3", amd64)
	r, err := Resolve(context.Background(), nil, Input{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if r.From.Kind != KindBase || r.From.Boundary != BoundaryUnknown || r.From.Entries != 0 {
		t.Fatalf("FROM answer %+v, want a named base with an unknown boundary", r.From)
	}
	const caveat = "where registry.example.org/testrepo:b3's steps end in this image's history is not known"
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	full := ""
	for _, c := range r.From.Caveats {
		if strings.HasPrefix(c, caveat) {
			full = c
		}
	}
	if full == "" || !strings.Contains(text.String(), "caveat: "+full+"\n") {
		t.Errorf("the unknown boundary is not said in full in the text (caveats %q):\n%s", r.From.Caveats, text.String())
	}
}
