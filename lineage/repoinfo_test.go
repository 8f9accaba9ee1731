package lineage

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/repoinfo"
	"github.com/strata-tool/strata/internal/testenv"
)

// catalogued are the repo-info files put in the catalog: the bases and the
// intermediate images. nginx:1.23.3-alpine-slim is deliberately absent (it
// is absent from the fixtures too).
var catalogued = []string{
	"alpine/remote/3.17.1.md", "alpine/remote/3.23.6.md",
	"debian/remote/bullseye.md", "debian/remote/bullseye-slim.md", "debian/remote/trixie-20260803-slim.md",
	"ubuntu/remote/22.04.md", "busybox/remote/1.36.0-musl.md",
	"buildpack-deps/remote/bullseye-curl.md", "buildpack-deps/remote/bullseye-scm.md", "buildpack-deps/remote/bullseye.md",
}

func repoInfo(t *testing.T, rel string) *repoinfo.File {
	t.Helper()
	f, err := repoinfo.ParseFile(filepath.Join(testenv.Fixtures(t), "repo-info", "repos", rel))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func repoInfoCatalog(t *testing.T) catalog.Catalog {
	t.Helper()
	ctx := context.Background()
	c, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, rel := range catalogued {
		f := repoInfo(t, rel)
		var es []catalog.Entry
		for _, img := range f.Images() {
			es = append(es, catalog.FromImage(img, f.Repo, f.Tag))
		}
		if err := c.Add(ctx, es...); err != nil {
			t.Fatalf("catalog %s: %v", rel, err)
		}
	}
	return c
}

// step renders an ancestry step for comparison: "name(layers)", or
// "?(layers)" for an unnamed ancestor; several names joined with "|".
func step(s Step) string {
	if s.Unknown {
		return fmt.Sprintf("?(%d)", s.Layers)
	}
	var names []string
	for _, n := range s.Names {
		names = append(names, n.Ref)
	}
	return fmt.Sprintf("%s(%d)", strings.Join(names, "|"), s.Layers)
}

func ancestry(r *Result) string {
	var out []string
	for _, s := range r.Ancestry {
		out = append(out, step(s))
	}
	return strings.Join(out, " → ")
}

// TestRepoInfoAncestry: the parent and full ancestry of every derived
// image in the fixture snapshot. The expected chains are the FROM lines of
// the upstream Dockerfiles (fixtures/SOURCES.md and dockerfiles/), the
// layer counts the parents' layer lists in the fixture files.
func TestRepoInfoAncestry(t *testing.T) {
	c := repoInfoCatalog(t)
	tests := []struct {
		file      string
		ancestry  string
		identical string
		unknown   bool // an intermediate parent must be reported unknown
	}{
		{file: "python/remote/3.11.1-bullseye.md", ancestry: "buildpack-deps:bullseye(5) → buildpack-deps:bullseye-scm(4) → buildpack-deps:bullseye-curl(3) → debian:bullseye(1)"},
		{file: "buildpack-deps/remote/bullseye.md", ancestry: "buildpack-deps:bullseye-scm(4) → buildpack-deps:bullseye-curl(3) → debian:bullseye(1)", identical: "buildpack-deps:bullseye"},
		{file: "buildpack-deps/remote/bullseye-scm.md", ancestry: "buildpack-deps:bullseye-curl(3) → debian:bullseye(1)", identical: "buildpack-deps:bullseye-scm"},
		{file: "buildpack-deps/remote/bullseye-curl.md", ancestry: "debian:bullseye(1)", identical: "buildpack-deps:bullseye-curl"},
		{file: "python/remote/3.11.1-slim-bullseye.md", ancestry: "debian:bullseye-slim(1)"},
		{file: "python/remote/3.11.1-alpine3.17.md", ancestry: "alpine:3.17.1(1)"},
		{file: "nginx/remote/1.23.3.md", ancestry: "debian:bullseye-slim(1)"},
		// FROM nginx:1.23.3-alpine-slim FROM alpine:3.17: the slim image
		// (6 layers) is not catalogued, and must be reported unknown.
		{file: "nginx/remote/1.23.3-alpine.md", ancestry: "?(6) → alpine:3.17.1(1)", unknown: true},
		{file: "redis/remote/7.0.8.md", ancestry: "debian:bullseye-slim(1)"},
		{file: "golang/remote/1.19.5-alpine3.17.md", ancestry: "alpine:3.17.1(1)"},
		{file: "node/remote/18.13.0-bullseye-slim.md", ancestry: "debian:bullseye-slim(1)"},
		{file: "postgres/remote/15.1.md", ancestry: "debian:bullseye-slim(1)"},
		{file: "python/remote/3-alpine3.23.md", ancestry: "alpine:3.23.6(1)"},
		{file: "python/remote/3-slim-trixie.md", ancestry: "debian:trixie-20260803-slim(1)"},
		{file: "debian/remote/bullseye.md", ancestry: "", identical: "debian:bullseye"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := repoInfo(t, tt.file)
			img := f.Images()[0]
			r, err := Resolve(context.Background(), c, Input{Image: img})
			if err != nil {
				t.Fatal(err)
			}
			if got := ancestry(r); got != tt.ancestry {
				t.Errorf("ancestry:\n got %s\nwant %s", got, tt.ancestry)
			}
			var ident []string
			for _, n := range r.Identical {
				ident = append(ident, n.Ref)
			}
			if got := strings.Join(ident, "|"); got != tt.identical {
				t.Errorf("identical: got %q, want %q", got, tt.identical)
			}
			for _, s := range r.Ancestry {
				if s.Unknown {
					continue
				}
				if s.Confidence != Matched || s.Signals[0] != SignalChain {
					t.Errorf("%s: confidence %s signals %v, want a chain match", step(s), s.Confidence, s.Signals)
				}
				// repo-info gives blob digests only.
				if s.Names[0].By != "blob chain" {
					t.Errorf("%s matched by %q", step(s), s.Names[0].By)
				}
				if s.Names[0].Platform != img.Platform.String() {
					t.Errorf("%s: platform %s", step(s), s.Names[0].Platform)
				}
				// The catalogued parent's steps open the child's history.
				if s.Names[0].History != "same" || s.Entries == 0 {
					t.Errorf("%s: history %q entries %d", step(s), s.Names[0].History, s.Entries)
				}
			}
			notes := strings.Join(r.Notes, "\n")
			if hasUnknownNote := strings.Contains(notes, "intermediate parent is unknown"); hasUnknownNote != tt.unknown {
				t.Errorf("unknown-intermediate note = %v, want %v; notes:\n%s", hasUnknownNote, tt.unknown, notes)
			}
			if len(r.Ancestry) > 0 && !strings.Contains(notes, "not proof") {
				t.Error("a chain match is reported without the match-not-proof note")
			}
		})
	}
}

// TestRepoInfoBase checks what the Dockerfile renderer gets.
func TestRepoInfoBase(t *testing.T) {
	c := repoInfoCatalog(t)
	for _, tt := range []struct {
		file          string
		name          string
		layers, entry int
		digest        string
	}{
		// debian:bullseye's index digest (the "docker pull" line) and its 2
		// history entries (ADD, CMD).
		{"python/remote/3.11.1-slim-bullseye.md", "debian:bullseye-slim", 1, 2, "sha256:98d3b4b0cee264301eb1354e0b549323af2d0633e1c43375d0b25c01826b6790"},
		{"python/remote/3.11.1-bullseye.md", "buildpack-deps:bullseye", 5, 6, "sha256:c1a2475ac14e13582cf8a44fc071439132928ada47c57e80af372fdcd1690751"},
		// The nearest named ancestor, with the unknown one in the evidence.
		{"nginx/remote/1.23.3-alpine.md", "alpine:3.17.1", 1, 2, ""},
	} {
		r, err := Resolve(context.Background(), c, Input{Image: repoInfo(t, tt.file).Images()[0]})
		if err != nil {
			t.Fatal(err)
		}
		b := r.From
		if b.Kind != KindBase || b.Name != tt.name || b.Layers != tt.layers || b.Entries != tt.entry {
			t.Errorf("%s: base %+v", tt.file, b)
		}
		if tt.digest != "" && b.Digest != tt.digest {
			t.Errorf("%s: base digest %s, want %s", tt.file, b.Digest, tt.digest)
		}
		if tt.file == "nginx/remote/1.23.3-alpine.md" && !strings.Contains(strings.Join(b.Caveats, "\n"), "unnamed intermediate parent of 6 layers") {
			t.Errorf("nginx:alpine FROM answer does not mention the unknown parent: %q", b.Caveats)
		}
	}
}

// TestPerPlatform: each platform of a multi-arch image is resolved on its
// own; arm64 debian must not match amd64 children.
func TestPerPlatform(t *testing.T) {
	c := repoInfoCatalog(t)
	f := repoInfo(t, "debian/remote/bullseye.md")
	for _, img := range f.Images() {
		r, err := Resolve(context.Background(), c, Input{Image: img})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Identical) != 1 || r.Identical[0].Platform != img.Platform.String() || r.Identical[0].Ref != "debian:bullseye" {
			t.Errorf("%s: identical %+v", img.Platform, r.Identical)
		}
	}
	_ = image.Platform{}
}
