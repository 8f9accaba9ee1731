package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/strata-tool/strata/image"
)

// manifestChanges lists what differs in how the two images are stored and
// named: none of it changes what runs, all of it explains why two digests
// differ when the content does not.
func manifestChanges(a, b *image.Image) []Change {
	var out []Change
	scalar := func(field, x, y string) {
		if x != y {
			out = append(out, Change{Field: field, A: optional(x), B: optional(y)})
		}
	}
	scalar("reference", a.Reference, b.Reference)
	scalar("transport", a.Transport, b.Transport)
	scalar("manifest digest", a.ManifestDigest, b.ManifestDigest)
	scalar("manifest media type", a.ManifestMediaType, b.ManifestMediaType)
	scalar("config media type", a.ConfigMediaType, b.ConfigMediaType)
	scalar("config digest", a.ID, b.ID)
	scalar("layer compression", compression(a), compression(b))
	out = append(out, keyed("annotation", a.Annotations, b.Annotations)...)
	out = append(out, indexChanges(a.Index, b.Index)...)
	return out
}

// compression names the kinds of layer compression in use, e.g.
// "gzip, zstd". Kinds, not counts: a child has more layers than its parent
// without being stored any differently.
func compression(img *image.Image) string {
	seen := map[string]bool{}
	var kinds []string
	for _, l := range img.Layers {
		if c := compressionOf(l.MediaType); !seen[c] {
			seen[c] = true
			kinds = append(kinds, c)
		}
	}
	sort.Strings(kinds)
	return strings.Join(kinds, ", ")
}

func compressionOf(mediaType string) string {
	switch {
	case mediaType == "":
		return "unknown"
	case strings.HasSuffix(mediaType, "+zstd") || strings.HasSuffix(mediaType, ".zstd"):
		return "zstd"
	case strings.HasSuffix(mediaType, "gzip"):
		return "gzip"
	case strings.HasSuffix(mediaType, ".tar") || strings.HasSuffix(mediaType, "diff.tar"):
		return "uncompressed"
	}
	return mediaType
}

// indexChanges compares the indexes the images were picked from: present
// or not, media type, annotations, and which platforms each offers.
func indexChanges(a, b *image.Index) []Change {
	if a == nil && b == nil {
		return nil
	}
	desc := func(ix *image.Index) string {
		if ix == nil {
			return ""
		}
		return fmt.Sprintf("%s (%d manifests)", ix.MediaType, len(ix.Manifests))
	}
	if a == nil || b == nil {
		return []Change{{Field: "index", A: optional(desc(a)), B: optional(desc(b))}}
	}
	var out []Change
	if a.MediaType != b.MediaType {
		out = append(out, Change{Field: "index media type", A: optional(a.MediaType), B: optional(b.MediaType)})
	}
	out = append(out, keyed("index annotation", a.Annotations, b.Annotations)...)
	out = append(out, keyed("index platform", platformSet(a), platformSet(b))...)
	if len(a.Attestations) != len(b.Attestations) {
		out = append(out, Change{Field: "index attestations",
			A: strp(fmt.Sprint(len(a.Attestations))), B: strp(fmt.Sprint(len(b.Attestations)))})
	}
	return out
}

func platformSet(ix *image.Index) map[string]string {
	m := map[string]string{}
	for _, p := range ix.Platforms() {
		m[p.String()] = "present"
	}
	return m
}
