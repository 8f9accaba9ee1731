package dockerfile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/dockerfile"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/source"
)

func openRef(t *testing.T, ref string, p *image.Platform) *image.Image {
	t.Helper()
	s, err := source.Open(context.Background(), ref, source.Options{Insecure: true, Platform: p, DockerHost: os.Getenv("STRATA_TEST_DOCKER_HOST")})
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	defer s.Close()
	return s.Image()
}

// fromLine returns the FROM line and the comment block above it with
// continuation lines joined, as a reader sees the comments.
func fromLine(t *testing.T, text string) (from, comments string) {
	t.Helper()
	var cs []string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "FROM "):
			return l, strings.Join(cs, "\n")
		case strings.HasPrefix(l, "#   ") && len(cs) > 0:
			cs[len(cs)-1] += " " + strings.TrimPrefix(l, "#   ")
		case strings.HasPrefix(l, "# "):
			cs = append(cs, strings.TrimPrefix(l, "# "))
		}
	}
	t.Fatalf("no FROM line:\n%s", text)
	return "", ""
}

// TestBuildahChildOwnSteps: a child buildah or podman built FROM a
// registry image — committing once (no --layers), every step, or squashed
// — comes back as FROM the parent followed by every one of the child's
// own instructions and none of the parent's, read from the image alone.
// Committing once, buildah writes its FROM comment on the last entry; the
// child's other steps sit before it as empty entries and were once folded
// into FROM with the parent's.
func TestBuildahChildOwnSteps(t *testing.T) {
	own := map[string][]string{
		"child":      {"RUN echo child > /etc/strata/role && echo child > /etc/strata/child", "LABEL com.example.role=child", "ENV ROLE=child"},
		"crosschild": {"ENV ROLE=crosschild", "RUN echo crosschild > /etc/strata/role", "LABEL com.example.role=crosschild", "CMD cat /etc/strata/role"},
	}
	seen := map[string]bool{}
	for _, b := range testenv.BuiltImages(t) {
		if own[b.Name] == nil || !(strings.HasPrefix(b.Builder, "buildah") || strings.HasPrefix(b.Builder, "podman")) {
			continue
		}
		seen[b.Builder] = true
		t.Run(b.Name+"/"+b.Builder, func(t *testing.T) {
			for _, transport := range []string{"registry", "oci-layout", "docker-archive", "podman-docker-archive"} {
				ref, ok := b.Refs[transport]
				if !ok {
					continue
				}
				img := openRef(t, ref, nil)
				res := dockerfile.Render(img, dockerfile.Options{})
				from, _ := fromLine(t, res.Text)
				// No catalog corroborates a declared digest: the parent is
				// named, not pinned. podman names the image it found in its
				// storage (for crosschild another tag of the same image).
				if !strings.HasPrefix(from, "FROM "+os.Getenv("STRATA_TEST_REGISTRY")+"/strata-test/parent:") || strings.Contains(from, "@") {
					t.Errorf("%s: %q, want FROM the parent, unpinned\n%s", ref, from, res.Text)
				}
				for _, step := range own[b.Name] {
					if !strings.Contains(res.Text, "\n"+step+"\n") {
						t.Errorf("%s: the child's own step %q is missing:\n%s", ref, step, res.Text)
					}
				}
				for _, parentStep := range []string{"busybox --install", "echo parent"} {
					if strings.Contains(res.Text, parentStep) {
						t.Errorf("%s: the parent's step %q is printed under FROM:\n%s", ref, parentStep, res.Text)
					}
				}
			}
		})
	}
	for _, want := range []string{"buildah", "podman-nolayers", "buildah-layers", "podman", "buildah-squash"} {
		if !seen[want] {
			t.Errorf("no child image built by %s", want)
		}
	}
}

// TestFromCommentsWhole: every piece of evidence and every caveat of the
// FROM answer is in the Dockerfile's comments whole — wrapped over
// several # lines, never cut — for every built image and regclient's
// testrepo:v3, whose base's boundary is unknown and must be said there.
func TestFromCommentsWhole(t *testing.T) {
	type tc struct{ name, ref, parent string }
	var cases []tc
	for _, b := range testenv.BuiltImages(t) {
		cases = append(cases, tc{b.Name + "/" + b.Builder, b.Refs["registry"], b.BuildArgs["PARENT"]})
	}
	v3 := "oci:" + filepath.Join(testenv.Fixtures(t), "images", "regclient", "testrepo") + ":v3"
	cases = append(cases, tc{name: "regclient/v3", ref: v3})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := openRef(t, c.ref, &image.Platform{OS: "linux", Architecture: "amd64"})
			checkFromComments(t, dockerfile.Render(img, dockerfile.Options{}), c.name)
			if p := c.parent; p != "" {
				// With the parent catalogued, as strata dockerfile --catalog
				// does: the longest evidence (chain, annotation, buildah).
				cat := catalogWith(t, p, openRef(t, p, nil))
				r, err := lineage.Resolve(context.Background(), cat, lineage.Input{Image: img})
				if err != nil {
					t.Fatal(err)
				}
				checkFromComments(t, dockerfile.Render(img, dockerfile.Options{Base: &r.From}), c.name)
			}
		})
	}
}

func catalogWith(t *testing.T, ref string, img *image.Image) catalog.Catalog {
	t.Helper()
	c, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := catalog.ParseFilter(ref)
	if err := c.Add(context.Background(), catalog.FromImage(img, f.Name, f.Tag)); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkFromComments holds res's FROM comments to the answer it rendered:
// every piece of evidence and caveat whole, wrapped, never cut.
func checkFromComments(t *testing.T, res *dockerfile.Result, name string) {
	t.Helper()
	_, comments := fromLine(t, res.Text)
	for _, s := range append(append([]string{}, res.From.Evidence...), res.From.Caveats...) {
		if !strings.Contains(comments, s) {
			t.Errorf("not whole in the FROM comments: %q\n%s", s, res.Text)
		}
	}
	for _, c := range strings.Split(comments, "\n") {
		if strings.HasSuffix(c, "…") {
			t.Errorf("a FROM comment is cut: %s", c)
		}
	}
	// The two header lines and a pairing NOTE come before the FROM
	// comments.
	for _, l := range strings.Split(res.Text, "\n")[2:] {
		if strings.HasPrefix(l, "FROM ") {
			break
		}
		if !strings.HasPrefix(l, "# NOTE: ") && len(l) > 100 && strings.Contains(strings.TrimSpace(l[4:]), " ") {
			t.Errorf("comment line not wrapped (%d bytes): %s", len(l), l)
		}
	}
	if name == "regclient/v3" {
		if res.From.Boundary != lineage.BoundaryUnknown || res.From.FoldedEntries != 0 {
			t.Errorf("v3: boundary %s, %d entries folded; nothing tells where b3's steps end", res.From.Boundary, res.From.FoldedEntries)
		}
		if !strings.Contains(comments, "where registry.example.org/testrepo:b3's steps end in this image's history is not known") {
			t.Errorf("v3: the unknown boundary is not said in the Dockerfile:\n%s", res.Text)
		}
	}
}

// TestBuildahAttribution: on images buildah or podman built, no comment
// blames the classic builder (buildah writes COPY file:<hash> the way the
// classic builder does) and no note calls buildah's --layers intermediate
// IDs ("FROM 2e822b95fda2" on FROM scratch builds) a local base image.
func TestBuildahAttribution(t *testing.T) {
	checked := 0
	for _, b := range testenv.BuiltImages(t) {
		if !(strings.HasPrefix(b.Builder, "buildah") || strings.HasPrefix(b.Builder, "podman")) || b.Name == "crosschild" {
			continue // crosschild's base is the classic builder's
		}
		checked++
		t.Run(b.Name+"/"+b.Builder, func(t *testing.T) {
			res := dockerfile.Render(openRef(t, b.Refs["registry"], nil), dockerfile.Options{})
			if strings.Contains(res.Text, "classic builder") {
				t.Errorf("the classic builder is named on a %s image:\n%s", b.Builder, res.Text)
			}
			for _, n := range res.Notes {
				if strings.Contains(n, "image ID") {
					t.Errorf("misleading note: %s", n)
				}
			}
			if res.From.Kind == lineage.KindScratch && strings.Contains(res.Text, "COPY source lost") && !strings.Contains(res.Text, "COPY source lost: buildah recorded") {
				t.Errorf("COPY's lost source not attributed to buildah:\n%s", res.Text)
			}
		})
	}
	if checked == 0 {
		t.Fatal("no buildah or podman image built")
	}
}

// TestRecordSteps: JSON records number history positions as strata layers
// does, from 1.
func TestRecordSteps(t *testing.T) {
	img := loadImage(t, "testdata/golden/buildah-child.json")
	res := dockerfile.Render(img, dockerfile.Options{})
	for i, r := range res.Records {
		if r.Step != i+1 {
			t.Fatalf("record %d has step %d", i, r.Step)
		}
	}
	if _, c := fromLine(t, res.Text); !strings.Contains(c, "in the comment of step 7") || !strings.Contains(c, "(steps 1-6) folded") {
		t.Errorf("FROM comments do not number steps from 1:\n%s", c)
	}
}
