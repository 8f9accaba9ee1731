package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/strata-tool/strata/badge"
	"github.com/strata-tool/strata/internal/humanize"
	"github.com/strata-tool/strata/lineage"
	"github.com/strata-tool/strata/reference"
)

// badgeKinds are MicroBadger's four badges and strata's base badge.
var badgeKinds = []string{"image", "version", "commit", "license", "base"}

// badge serves /badges/{kind}/{ref}.svg and .json (shields.io endpoint
// JSON). A missing image is a "not found" badge with status 200, as
// MicroBadger served it, so a README shows it rather than a broken image.
func (s *Server) badge(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	ref := r.PathValue("ref")
	format := ""
	for _, ext := range []string{".svg", ".json"} {
		if rest, ok := strings.CutSuffix(ref, ext); ok {
			ref, format = rest, ext
		}
	}
	if format == "" || !validKind(kind) {
		s.apiError(w, &httpError{http.StatusNotFound, "badges are /badges/{image|version|commit|license|base}/REF.svg or .json"})
		return
	}
	n, err := parseName(ref)
	if err != nil {
		s.apiError(w, err)
		return
	}
	v, err := s.version(r.Context(), n, *s.cfg.Platform)
	if err != nil {
		code := statusOf(err)
		b := badge.Badge{Label: kind, Message: "not found", Color: "lightgrey"}
		switch {
		case code == http.StatusForbidden:
			b.Message = "registry not allowed"
		case code == http.StatusTooManyRequests:
			b.Message = "rate limited"
		case code != http.StatusNotFound:
			b.Message, b.Color = "error", "red"
		default:
			code = http.StatusOK
		}
		writeBadge(w, r, b, format, code)
		return
	}
	cacheControl := cachePolicy(n, cacheImmutable)
	rd, err := v.render("badge-"+kind+format, func() (*rendered, error) {
		b := s.badgeFor(r.Context(), kind, v)
		if format == ".json" {
			body, err := json.Marshal(b.Endpoint())
			return newRendered(body, "application/json"), err
		}
		return newRendered(b.SVG(), "image/svg+xml"), nil
	})
	if err != nil {
		s.apiError(w, err)
		return
	}
	if kind == "base" {
		// Whether the base is out of date changes with the base's tag,
		// whatever names this image; it is checked again when the
		// version is analysed again (after DigestTTL).
		cacheControl = cacheTag
	}
	serveRendered(w, r, rd, cacheControl)
}

func validKind(k string) bool {
	for _, b := range badgeKinds {
		if b == k {
			return true
		}
	}
	return false
}

func writeBadge(w http.ResponseWriter, r *http.Request, b badge.Badge, format string, code int) {
	h := w.Header()
	h.Set("Cache-Control", cacheTag)
	if format == ".json" {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(b.Endpoint())
		return
	}
	h.Set("Content-Type", "image/svg+xml")
	w.WriteHeader(code)
	w.Write(b.SVG())
}

// badgeFor computes one badge of v.
func (s *Server) badgeFor(ctx context.Context, kind string, v *version) badge.Badge {
	img := v.img
	switch kind {
	case "image":
		size := int64(0)
		for _, l := range img.Layers {
			size += max(l.Size, 0)
		}
		return badge.Badge{Label: humanize.Bytes(size), Message: fmt.Sprintf("%d layer%s", len(img.Layers), plural(len(img.Layers))), Color: "blue"}
	case "version":
		return badge.Badge{Label: "version", Message: versionOf(v), Color: "blue"}
	case "commit":
		if rev := revision(img); rev != "" {
			return badge.Badge{Label: "commit", Message: rev[:min(len(rev), 7)], Color: "blue"}
		}
		return badge.Badge{Label: "commit", Message: "not given", Color: "lightgrey"}
	case "license":
		if l := licence(img); l != "" {
			return badge.Badge{Label: "license", Message: l, Color: "blue"}
		}
		return badge.Badge{Label: "license", Message: "not given", Color: "lightgrey"}
	}
	return s.baseBadge(ctx, v)
}

// versionOf is the version badge's text: the tag asked for (unless
// latest), else the version the labels declare, else the longest
// catalogued tag of this digest that is not latest (MicroBadger's rule),
// else the tag.
func versionOf(v *version) string {
	if t := v.name.ExplicitTag(); t != "" && t != "latest" {
		return t
	}
	if d := declaredVersion(v.img); d != "" {
		return d
	}
	var tags []string
	for _, t := range v.tags {
		if tag, ok := strings.CutPrefix(t, v.name.FamiliarRepository()+":"); ok && tag != "latest" {
			tags = append(tags, tag)
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		return len(tags[i]) > len(tags[j]) || len(tags[i]) == len(tags[j]) && tags[i] < tags[j]
	})
	if len(tags) > 0 {
		return tags[0]
	}
	if t := v.name.Tag(); t != "" {
		return t
	}
	return "untagged"
}

// baseBadge names the base and says whether it is out of date: the
// base's tag now points at another image than the one this was built on.
func (s *Server) baseBadge(ctx context.Context, v *version) badge.Badge {
	f := v.lin.From
	switch f.Kind {
	case lineage.KindScratch:
		return badge.Badge{Label: "base", Message: "scratch", Color: "blue"}
	case lineage.KindBase:
	default:
		return badge.Badge{Label: "base", Message: "unknown", Color: "lightgrey"}
	}
	// The name is cut first, so the status always shows.
	name := []rune(reference.Familiar(f.Name))
	if len(name) > 36 {
		name = append(name[:35], '…')
	}
	b := badge.Badge{Label: "base", Message: string(name), Color: "blue"}
	switch baseStatus(ctx, s, v) {
	case "up to date":
		b.Message += " ✓"
		b.Color = "brightgreen"
	case "outdated":
		b.Message += " (outdated)"
		b.Color = "orange"
	}
	return b
}

// baseStatus compares the digest the image was built on with the one the
// base's tag points at now: "up to date", "outdated", or "" when either
// is unknown (no corroborated digest, the base unreachable).
func baseStatus(ctx context.Context, s *Server, v *version) string {
	f := v.lin.From
	if f.Kind != lineage.KindBase || f.Digest == "" {
		return ""
	}
	n, err := reference.ParseName(f.Name)
	if err != nil {
		return ""
	}
	p := v.img.Platform
	cur, err := s.version(ctx, n.WithTag(n.Tag()), p)
	if err != nil || cur.img.ManifestDigest == "" {
		return ""
	}
	if cur.img.ManifestDigest == f.Digest {
		return "up to date"
	}
	return "outdated"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
