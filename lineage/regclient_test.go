package lineage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

var amd64 = image.Platform{OS: "linux", Architecture: "amd64"}

func openLayout(t *testing.T, tag string, p image.Platform) *image.Image {
	t.Helper()
	dir := filepath.Join(testenv.Fixtures(t), "images", "regclient", "testrepo")
	s, err := source.Open(context.Background(), "oci:"+dir+":"+tag, source.Options{Platform: &p})
	if err != nil {
		t.Fatalf("open %s: %v", tag, err)
	}
	defer s.Close()
	return s.Image()
}

// regclientCatalog catalogues the three bases of regclient's test layout
// on every platform: b1 and b2 share their one layer (COPY base-a.txt)
// but differ in config (LABEL base=a / base=b); b3 has another layer.
func regclientCatalog(t *testing.T) catalog.Catalog {
	t.Helper()
	ctx := context.Background()
	c, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, tag := range []string{"b1", "b2", "b3"} {
		for _, p := range openLayout(t, tag, amd64).Index.Platforms() {
			img := openLayout(t, tag, p)
			if err := c.Add(ctx, catalog.FromImage(img, "registry.example.org/testrepo", tag)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

func TestRegclientSharedLayer(t *testing.T) {
	c := regclientCatalog(t)
	ctx := context.Background()

	// v1 is FROM b1. Both b1 and b2 have its bottom layer; v1's history
	// opens with b1's steps (LABEL base=a), so b1 comes first, b2 is still
	// reported.
	v1 := openLayout(t, "v1", amd64)
	r, err := Resolve(ctx, c, Input{Image: v1})
	if err != nil {
		t.Fatal(err)
	}
	if got := ancestry(r); got != "registry.example.org/testrepo:b1|registry.example.org/testrepo:b2(1)" {
		t.Fatalf("v1 ancestry %s", got)
	}
	s := r.Ancestry[0]
	if s.Names[0].History != "same" || s.Names[1].History != "differs" {
		t.Errorf("history verdicts %q %q", s.Names[0].History, s.Names[1].History)
	}
	if s.Names[0].By != "diff_id chain and blob chain" {
		t.Errorf("matched by %q", s.Names[0].By)
	}

	// Without history (a squashed or history-less copy) the evidence
	// cannot tell b1 from b2: both reported, neither preferred by history.
	bare := *v1
	bare.History = nil
	r, err = Resolve(ctx, c, Input{Image: &bare})
	if err != nil {
		t.Fatal(err)
	}
	if got := ancestry(r); got != "registry.example.org/testrepo:b1|registry.example.org/testrepo:b2(1)" {
		t.Fatalf("bare v1 ancestry %s", got)
	}
	if ev := strings.Join(r.Ancestry[0].Evidence, " "); !strings.Contains(ev, "cannot tell them apart") {
		t.Errorf("evidence does not say the candidates are indistinguishable: %s", ev)
	}
	for _, n := range r.Ancestry[0].Names {
		if n.History != "" {
			t.Errorf("%s: history verdict %q without history", n.Ref, n.History)
		}
	}
	if b := r.From; !strings.Contains(strings.Join(b.Caveats, "\n"), "equally matched: registry.example.org/testrepo:b2") {
		t.Errorf("the FROM answer hides the second candidate: %q", b.Caveats)
	}

	// v3's index carries base annotations whose name (b3) and digest (b1's
	// index) disagree; the layers side with the digest.
	v3 := openLayout(t, "v3", amd64)
	r, err = Resolve(ctx, c, Input{Image: v3})
	if err != nil {
		t.Fatal(err)
	}
	s = r.Ancestry[0]
	if s.Name() != "registry.example.org/testrepo:b1" || s.Confidence != Verified || s.Layers != 1 {
		t.Errorf("v3 nearest step %s %s %v", step(s), s.Confidence, s.Signals)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "disagree") {
		t.Errorf("the name/digest disagreement is not noted: %v", r.Notes)
	}

	// Each platform resolves on its own.
	for _, p := range v1.Index.Platforms() {
		if p.OS == "unknown" {
			continue // regclient's build-metadata artifacts
		}
		img := openLayout(t, "v1", p)
		r, err := Resolve(ctx, c, Input{Image: img})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Ancestry) == 0 || r.Ancestry[0].Names[0].Platform != p.String() {
			t.Errorf("%s: %s", p, ancestry(r))
		}
	}
}
