package catalogtest

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
)

// dg pads a hex prefix to a whole sha256 digest.
func dg(prefix string) string {
	return "sha256:" + prefix + strings.Repeat("0", 64-len(prefix))
}

// testDigestPrefixes: catalog ls and rm name images by any unique prefix
// of a manifest, index or config digest, with or without "sha256:", and
// an ambiguous prefix lists what it matches (issue 8).
func testDigestPrefixes(t *testing.T, s Store) {
	ctx := context.Background()
	c, _ := s.New(t)
	amd := entry("debian", "12", "deb")
	amd.ManifestDigest, amd.ConfigDigest, amd.IndexDigest = dg("3f5a9"), dg("c1"), dg("1d")
	arm := entry("debian", "12", "deb-arm")
	arm.Platform = "linux/arm64"
	arm.ManifestDigest, arm.ConfigDigest, arm.IndexDigest = dg("3f5b"), dg("c2"), dg("1d")
	legacy := entry("legacy", "1", "legacy")
	legacy.ConfigDigest = dg("3f5a7") // a daemon image: no manifest digest
	hexName := entry("cafe", "1", "cafe")
	hexName.ManifestDigest = dg("e0")
	other := entry("other", "1", "other")
	other.ManifestDigest = dg("cafe1")
	if err := c.Add(ctx, amd, arm, legacy, hexName, other); err != nil {
		t.Fatal(err)
	}
	refs := func(es []catalog.Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Ref()+" "+e.Platform)
		}
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		arg  string
		want []string
	}{
		{"3f5a9", []string{"debian:12 linux/amd64"}},
		{"sha256:3f5a9", []string{"debian:12 linux/amd64"}},
		{"3F5A9", []string{"debian:12 linux/amd64"}},
		{"legacy@3f5", []string{"legacy:1 linux/amd64"}},
		{"3f5a7", []string{"legacy:1 linux/amd64"}},
		{"c2", []string{"debian:12 linux/arm64"}},
		{"1d", []string{"debian:12 linux/amd64", "debian:12 linux/arm64"}},
		{arm.ManifestDigest, []string{"debian:12 linux/arm64"}},
		{"cafe", []string{"cafe:1 linux/amd64"}}, // a name first, as docker
		{"cafe1", []string{"other:1 linux/amd64"}},
		{"beef", nil},
		{"debian:12", []string{"debian:12 linux/amd64", "debian:12 linux/arm64"}},
		{"docker.io/library/debian", []string{"debian:12 linux/amd64", "debian:12 linux/arm64"}},
	} {
		es, err := catalog.Select(ctx, c, tc.arg)
		got := refs(es)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("select %q: %v, %v; want %v", tc.arg, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		arg  string
		want []string
	}{
		{"3f5", []string{
			legacy.ConfigDigest + " (config of legacy:1 linux/amd64)",
			amd.ManifestDigest + " (manifest of debian:12 linux/amd64)",
			arm.ManifestDigest + " (manifest of debian:12 linux/arm64)",
		}},
		{"debian@sha256:3f5", []string{
			amd.ManifestDigest + " (manifest of debian:12 linux/amd64)",
			arm.ManifestDigest + " (manifest of debian:12 linux/arm64)",
		}},
	} {
		_, err := catalog.Resolve(ctx, c, tc.arg)
		var amb *catalog.AmbiguousError
		if !errors.As(err, &amb) {
			t.Errorf("resolve %q: %v, want an ambiguity", tc.arg, err)
			continue
		}
		var got []string
		for _, cand := range amb.Candidates {
			got = append(got, cand.Digest+" ("+cand.Of+")")
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("resolve %q: candidates %v, want %v", tc.arg, got, tc.want)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w[:len("sha256:")+64]) {
				t.Errorf("resolve %q: %q does not list %s", tc.arg, err, w)
			}
		}
	}
	if _, err := catalog.Resolve(ctx, c, "sha256:xyz"); err == nil || errors.Is(err, catalog.ErrNoMatch) {
		t.Errorf("a malformed digest: %v", err)
	}
	// rm: nothing removed is a typed error; a prefix removes its entries.
	for _, arg := range []string{"nonexistent:1", "beef", "debian:13"} {
		if n, err := catalog.RemoveRef(ctx, c, arg); n != 0 || !errors.Is(err, catalog.ErrNoMatch) {
			t.Errorf("rm %q: %d, %v; want 0 and ErrNoMatch", arg, n, err)
		}
	}
	if n, err := catalog.RemoveRef(ctx, c, "3f5"); n != 0 || err == nil {
		t.Errorf("rm of an ambiguous prefix: %d, %v", n, err)
	}
	if n, err := catalog.RemoveRef(ctx, c, "1d"); n != 2 || err != nil {
		t.Errorf("rm by index digest prefix: %d, %v; want 2", n, err)
	}
	if n, err := catalog.RemoveRef(ctx, c, "3f5"); n != 1 || err != nil {
		t.Errorf("rm of a prefix unique once the others went: %d, %v", n, err)
	}
	if n, _ := c.Count(ctx); n != 2 {
		t.Errorf("count %d after removing 3, want 2", n)
	}
	check(t, c)
}
