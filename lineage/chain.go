package lineage

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
)

// chains returns the image's diff_id and blob chains (nil where any
// element is missing).
func chains(img *image.Image) (diff, blob []string) {
	d, b := img.DiffIDs(), img.BlobDigests()
	if full(d) {
		diff = image.ChainIDs(d)
	}
	if full(b) {
		blob = image.BlobChainIDs(b)
	}
	return diff, blob
}

func full(ids []string) bool {
	for _, id := range ids {
		if id == "" {
			return false
		}
	}
	return len(ids) > 0
}

// chainMatches looks the image's chains up: the full-length group is the
// identical images, every shorter group one ancestor, nearest first.
func chainMatches(ctx context.Context, cat catalog.Catalog, img *image.Image, steps []string) ([]Step, []Name, error) {
	diff, blob := chains(img)
	ms, err := catalog.Lookup(ctx, cat, diff, blob)
	if err != nil {
		return nil, nil, fmt.Errorf("lineage: %w", err)
	}
	var out []Step
	var identical []Name
	platform := img.Platform.String()
	for _, m := range ms {
		m = onePerRef(m, platform)
		names := make([]Name, len(m.Entries))
		entries := 0
		for i, e := range m.Entries {
			names[i] = nameOf(e, m.By[i])
			switch {
			case len(e.Steps) == 0 || len(steps) == 0:
				// No history on one side: it cannot tell anything apart.
			case hasPrefix(steps, e.Steps):
				names[i].History = "same"
				entries = len(e.Steps)
			default:
				names[i].History = "differs"
			}
		}
		sortNames(names)
		if m.Layers == len(img.Layers) {
			identical = append(identical, names...)
			continue
		}
		s := Step{Names: names, Layers: m.Layers, Entries: entries, Signals: []string{SignalChain}, Confidence: Matched}
		if entries > 0 {
			// The catalogued image's own steps open this image's history.
			s.Boundary = BoundaryExact
		}
		s.Evidence = append(s.Evidence, fmt.Sprintf("the %s of this image's first %d layer%s equals %s's whole chain", m.By[0], m.Layers, plural(m.Layers), names[0].Ref))
		if len(names) > 1 {
			var same, differ, unknown []string
			for _, n := range names {
				switch n.History {
				case "same":
					same = append(same, n.Ref)
				case "differs":
					differ = append(differ, n.Ref)
				default:
					unknown = append(unknown, n.Ref)
				}
			}
			switch {
			case len(same) > 0 && len(differ) > 0:
				ev := fmt.Sprintf("%d catalogued images have these layers; the history tells them apart: %s's steps open this image's history, %s's do not", len(names), strings.Join(same, ", "), strings.Join(differ, ", "))
				if len(unknown) > 0 {
					ev += fmt.Sprintf("; %s's history is not catalogued", strings.Join(unknown, ", "))
				}
				s.Evidence = append(s.Evidence, ev)
			default:
				s.Evidence = append(s.Evidence, fmt.Sprintf("%d catalogued images have exactly these layers and the evidence cannot tell them apart: %s", len(names), refs(names)))
			}
		}
		out = append(out, s)
	}
	return out, identical, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func refs(ns []Name) string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Ref)
	}
	return strings.Join(out, ", ")
}

func nameOf(e catalog.Entry, by string) Name {
	return Name{Ref: e.Ref(), Digest: e.ManifestDigest, Index: e.IndexDigest, Platform: e.Platform, By: by}
}

func hasPrefix(s, prefix []string) bool {
	if len(prefix) > len(s) {
		return false
	}
	for i := range prefix {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

// sortNames puts history-confirmed names first, then the plainest names
// (official "debian:bullseye" before "127.0.0.1:5000/mirror/debian:…").
func sortNames(ns []Name) {
	rank := func(n Name) int {
		switch n.History {
		case "same":
			return 0
		case "":
			return 1
		}
		return 2
	}
	sort.SliceStable(ns, func(i, j int) bool {
		a, b := ns[i], ns[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if ca, cb := strings.Count(a.Ref, "/"), strings.Count(b.Ref, "/"); ca != cb {
			return ca < cb
		}
		if len(a.Ref) != len(b.Ref) {
			return len(a.Ref) < len(b.Ref)
		}
		return a.Ref < b.Ref
	})
}

// sharedDepth is how many bottom layers some catalogued image shares with
// this one, whether or not its whole chain is a prefix of ours.
func sharedDepth(ctx context.Context, cat catalog.Catalog, img *image.Image) (int, error) {
	diff, blob := chains(img)
	best := 0
	for _, k := range []catalog.Kind{catalog.DiffChain, catalog.BlobChain} {
		ids := diff
		if k == catalog.BlobChain {
			ids = blob
		}
		if len(ids) == 0 {
			continue
		}
		n, err := cat.Shared(ctx, k, ids)
		if err != nil {
			return 0, fmt.Errorf("lineage: %w", err)
		}
		best = max(best, n)
	}
	return best, nil
}

// onePerRef keeps one entry per name:tag, preferring this image's
// platform: a layer with no platform-specific content (a COPY of a text
// file onto scratch) matches every platform of a multi-arch base.
func onePerRef(m catalog.Match, platform string) catalog.Match {
	keep := map[string]int{}
	var out catalog.Match
	out.Layers = m.Layers
	for i, e := range m.Entries {
		j, seen := keep[e.Ref()]
		if !seen {
			keep[e.Ref()] = len(out.Entries)
			out.Entries = append(out.Entries, e)
			out.By = append(out.By, m.By[i])
			continue
		}
		if e.Platform == platform && out.Entries[j].Platform != platform {
			out.Entries[j], out.By[j] = e, m.By[i]
		}
	}
	return out
}
