package catalog

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strata-tool/strata/image"
)

func TestParseFilter(t *testing.T) {
	d := "sha256:00000000000000000000000000000000000000000000000000000000000000a1"
	for _, tt := range []struct {
		in   string
		want Filter
	}{
		{"debian", Filter{Name: "debian"}},
		{"debian:bullseye", Filter{Name: "debian", Tag: "bullseye"}},
		{"127.0.0.1:5000/test/parent", Filter{Name: "127.0.0.1:5000/test/parent"}},
		{"127.0.0.1:5000/test/parent:classic", Filter{Name: "127.0.0.1:5000/test/parent", Tag: "classic"}},
		{"debian@" + d, Filter{Name: "debian", Digest: d}},
		{d, Filter{Digest: d}},
		// Prefixes stay prefixes until Resolve looks them up.
		{"sha256:00a1", Filter{Digest: "sha256:00a1"}},
		{"debian:12@00a1", Filter{Name: "debian", Tag: "12", Digest: "00a1"}},
		{"00a1", Filter{Name: "00a1"}},
		// Names are compared as the catalog stores them.
		{"docker.io/library/debian:12", Filter{Name: "debian", Tag: "12"}},
		{"index.docker.io/bitnami/redis", Filter{Name: "bitnami/redis"}},
		{"", Filter{}},
	} {
		if got := ParseFilter(tt.in); got != tt.want {
			t.Errorf("ParseFilter(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestListDigest(t *testing.T) {
	m := "sha256:3f5a9b1c2d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"
	c := "sha256:c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc"
	for _, tt := range []struct {
		e      Entry
		d      string
		config bool
		col    string
	}{
		{Entry{ManifestDigest: m, ConfigDigest: c}, m, false, "3f5a9b1c2d4e"},
		{Entry{ConfigDigest: c}, c, true, "c0ffee001122 (config)"},
		{Entry{}, "", false, ""},
	} {
		d, config := tt.e.ListDigest()
		if d != tt.d || config != tt.config || tt.e.DigestColumn() != tt.col {
			t.Errorf("%+v: %q %v %q", tt.e, d, config, tt.e.DigestColumn())
		}
	}
}

func TestValidDigest(t *testing.T) {
	good := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for s, want := range map[string]bool{
		good:                 true,
		good[:70]:            false,
		"sha512:" + good[7:]: false,
		good[:70] + "G":      false,
		good[:70] + "A":      false, // upper case is not a canonical digest
		"":                   false,
	} {
		if ValidDigest(s) != want {
			t.Errorf("ValidDigest(%q) = %v", s, !want)
		}
	}
}

func TestEntryIdentAndValidate(t *testing.T) {
	c := image.ChainIDs([]string{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
	e := Entry{Name: "x", ChainIDs: c}
	if e.Ident() != c[0] || e.Ref() != "x" || e.Layers() != 1 {
		t.Errorf("ident %q ref %q layers %d", e.Ident(), e.Ref(), e.Layers())
	}
	e.ConfigDigest = "sha256:c"
	if e.Ident() != "sha256:c" {
		t.Error("config digest should identify an entry without a manifest")
	}
	e.ManifestDigest = "sha256:m"
	if e.Ident() != "sha256:m" || e.Ref() != "x@sha256:m" {
		t.Errorf("ident %q ref %q", e.Ident(), e.Ref())
	}
	if err := e.Validate(); err != nil {
		t.Error(err)
	}
	e.BlobChainIDs = append(c, c[0])
	if e.Validate() == nil {
		t.Error("chains of different lengths accepted")
	}
	e.BlobChainIDs = nil
	e.History = []string{"a", "b"}
	if e.Validate() == nil {
		t.Error("more history lines than layers accepted")
	}
}

// TestFromImage: chains are computed only where every layer has the digest.
func TestFromImage(t *testing.T) {
	d1 := "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 := "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	img := &image.Image{
		Reference: "r", ManifestDigest: "sha256:m", ID: "sha256:c",
		Platform: image.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		Layers:   []image.Layer{{DiffID: d1, Digest: d2}, {DiffID: d2}},
		Index:    &image.Index{Digest: "sha256:i"},
	}
	img.SetHistory([]image.History{
		{CreatedBy: "ADD x"}, {CreatedBy: "ENV a=b", EmptyLayer: true}, {CreatedBy: "RUN y"},
	})
	e := FromImage(img, "n", "t")
	if len(e.ChainIDs) != 2 || e.ChainIDs[0] != d1 || len(e.BlobChainIDs) != 0 {
		t.Errorf("chains %v / %v", e.ChainIDs, e.BlobChainIDs)
	}
	if e.Platform != "linux/arm64/v8" || e.IndexDigest != "sha256:i" || e.ConfigDigest != "sha256:c" {
		t.Errorf("%+v", e)
	}
	if len(e.History) != 2 || e.History[1] != "RUN y" || len(e.Steps) != 3 {
		t.Errorf("history %q steps %q", e.History, e.Steps)
	}
}

// TestStepTextBounded: a huge created_by is kept as a bounded prefix plus
// its hash, so equal texts stay equal and different ones differ, and an
// entry for an image with a 12 MB RUN does not hold 12 MB per step.
func TestStepTextBounded(t *testing.T) {
	short := "/bin/sh -c echo hi"
	if StepText(short) != short {
		t.Errorf("short text changed: %q", StepText(short))
	}
	big := strings.Repeat("é", 6<<20) // 12 MB, multi-byte runes
	other := big[:len(big)-2] + "e!"
	a, b := StepText(big), StepText(other)
	if len(a) > 5000 || !utf8.ValidString(a) {
		t.Errorf("huge text kept as %d bytes (valid UTF-8: %v)", len(a), utf8.ValidString(a))
	}
	if a == b || a != StepText(big) {
		t.Error("StepText does not tell different texts apart, or is not stable")
	}
	img := &image.Image{Layers: []image.Layer{{DiffID: "sha256:" + strings.Repeat("a", 64)}}}
	img.SetHistory([]image.History{{CreatedBy: big}})
	e := FromImage(img, "x", "1")
	if len(e.Steps[0]) != len(a) || len(e.History[0]) != len(a) {
		t.Errorf("FromImage kept %d/%d bytes of a 12 MB step", len(e.Steps[0]), len(e.History[0]))
	}
}
