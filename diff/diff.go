// Package diff compares two images the way the seed experiment does: a
// verdict first (identical, same content, different), then where the two
// diverge — the shared layer chain and the first differing history step —
// then the config, history and manifest differences, and, only when asked,
// the file differences of the layers the two do not share.
package diff

import (
	"time"

	"github.com/strata-tool/strata/image"
)

// Verdict is the headline answer.
type Verdict string

// Verdicts, from strongest to weakest.
const (
	// Identical: the same manifest digest; nothing can differ but the name.
	Identical Verdict = "identical"
	// SameContent: the same config and layers (by config digest, or by
	// diff_ids plus an equal config) under a different manifest — another
	// name, compression or manifest encoding.
	SameContent Verdict = "same-content"
	Different   Verdict = "different"
)

// Same reports whether the verdict means "no difference" (exit code 0);
// OtherSignatures is a difference (exit code 1).
func (v Verdict) Same() bool { return v == Identical || v == SameContent }

// Options tune a comparison.
type Options struct {
	// IgnoreTimestamps drops image and history creation times, and file
	// modification times, from every comparison (the verdict included).
	IgnoreTimestamps bool
	// PathPrefix limits the file diff to one subtree ("/etc").
	PathPrefix string
	// ResolveBase reads the shared base layers when the divergent layers
	// write paths only one side touches, so each is classified exactly as
	// added or changed. Without it the base is read only when a whiteout
	// or opaque directory makes it necessary.
	ResolveBase bool
}

// Side summarises one image for the report.
type Side struct {
	Reference      string   `json:"reference"`
	Transport      string   `json:"transport,omitempty"`
	ManifestDigest string   `json:"manifestDigest,omitempty"`
	ID             string   `json:"id,omitempty"`
	Platform       string   `json:"platform,omitempty"`
	Layers         int      `json:"layers"`
	HistorySteps   int      `json:"historySteps"`
	RepoTags       []string `json:"repoTags,omitempty"`
}

// Step names one history step on each side.
type Step struct {
	// Step is the 1-based step number on both sides (histories agree up
	// to here by definition), as `strata layers` numbers steps.
	Step int `json:"step"`
	// A and B are the instructions at Step, as the history translator
	// reads them; empty where that side's history has ended.
	A string `json:"a,omitempty"`
	B string `json:"b,omitempty"`
	// SameInstruction: both sides ran the same instruction here, recorded
	// as each builder records it, but it made a different layer.
	SameInstruction bool `json:"sameInstruction,omitempty"`
}

// Result is the whole comparison.
type Result struct {
	A       Side    `json:"a"`
	B       Side    `json:"b"`
	Verdict Verdict `json:"verdict"`
	// SharedLayers is the length of the common layer chain: the first
	// SharedLayers layers of A and B are byte-for-byte the same tar.
	SharedLayers int `json:"sharedLayers"`
	// SharedBy says what the chain was computed from: "diff_ids" or
	// "blobs" (when a side lacks diff_ids).
	SharedBy string `json:"sharedBy,omitempty"`
	// FirstDifferingStep is nil when the histories agree step for step.
	FirstDifferingStep *Step       `json:"firstDifferingStep,omitempty"`
	Config             []Change    `json:"config"`
	Manifest           []Change    `json:"manifest"`
	History            HistoryDiff `json:"history"`
	Notes              []string    `json:"notes,omitempty"`
	Files              *FileResult `json:"files,omitempty"`
	// Packages is the package diff (--packages).
	Packages *PackageResult `json:"packages,omitempty"`
	// Signatures compares what signs and attests each side (registry
	// images).
	Signatures *SignatureDiff `json:"signatures,omitempty"`
	Options    ResultOption   `json:"options"`
}

// ResultOption records the options that shaped the result.
type ResultOption struct {
	IgnoreTimestamps bool   `json:"ignoreTimestamps,omitempty"`
	PathPrefix       string `json:"pathPrefix,omitempty"`
}

// Change is one differing field. A or B is nil where that side does not
// have the field (an env var only one side sets); both are rendered as text.
type Change struct {
	Field string  `json:"field"`
	Key   string  `json:"key,omitempty"`
	A     *string `json:"a"`
	B     *string `json:"b"`
	// Note qualifies the change (e.g. "set by B's own steps" for labels).
	Note string `json:"note,omitempty"`
}

// Images compares the metadata of two images: no layer is read.
func Images(a, b *image.Image, opts Options) *Result {
	r := &Result{
		A:       sideOf(a),
		B:       sideOf(b),
		Options: ResultOption{IgnoreTimestamps: opts.IgnoreTimestamps, PathPrefix: opts.PathPrefix},
	}
	r.SharedLayers, r.SharedBy = sharedChain(a, b)
	r.History = historyDiff(a, b, r.SharedLayers)
	r.FirstDifferingStep = r.History.FirstDiffering
	first := -1 // 0-based history index
	if r.FirstDifferingStep != nil {
		first = r.FirstDifferingStep.Step - 1
	}
	r.Config = configChanges(a, b, opts, first)
	r.Manifest = manifestChanges(a, b)
	r.Verdict = verdict(a, b, r, opts)
	for _, s := range []struct {
		name string
		img  *image.Image
	}{{"A", a}, {"B", b}} {
		if s.img.PairingProblem != "" {
			r.Notes = append(r.Notes, s.name+": "+s.img.PairingProblem)
		}
	}
	return r
}

func sideOf(img *image.Image) Side {
	s := Side{
		Reference:      img.Reference,
		Transport:      img.Transport,
		ManifestDigest: img.ManifestDigest,
		ID:             img.ID,
		Layers:         len(img.Layers),
		HistorySteps:   len(img.History),
		RepoTags:       img.RepoTags,
	}
	if img.Platform.OS != "" || img.Platform.Architecture != "" {
		s.Platform = img.Platform.String()
	}
	return s
}

// sharedChain counts the leading layers whose ChainIDs agree. diff_ids are
// the truth (they name the uncompressed tar); blob digests stand in only
// where a side has no diff_ids, since the same tar compressed twice gives
// different blobs and would hide a real share.
func sharedChain(a, b *image.Image) (int, string) {
	ida, idb := a.DiffIDs(), b.DiffIDs()
	by := "diff_ids"
	if !complete(ida) || !complete(idb) {
		ida, idb = a.BlobDigests(), b.BlobDigests()
		by = "blobs"
		if !complete(ida) || !complete(idb) {
			return 0, ""
		}
	}
	ca, cb := image.ChainIDs(ida), image.ChainIDs(idb)
	n := 0
	for n < len(ca) && n < len(cb) && ca[n] == cb[n] {
		n++
	}
	return n, by
}

func complete(ids []string) bool {
	for _, id := range ids {
		if id == "" {
			return false
		}
	}
	return true
}

// verdict decides identical / same content / different. "Same content"
// asks for the same layers and a config that differs in nothing the
// comparison looks at — the config digest agreeing proves it outright; an
// equal diff_id list plus no config change covers transports that rebuild
// the config blob (a daemon) and, with IgnoreTimestamps, two builds of one
// Dockerfile that differ only in when they ran.
func verdict(a, b *image.Image, r *Result, opts Options) Verdict {
	if a.ManifestDigest != "" && a.ManifestDigest == b.ManifestDigest {
		return Identical
	}
	if a.ID != "" && a.ID == b.ID {
		return SameContent
	}
	sameLayers := len(a.Layers) == len(b.Layers) && r.SharedLayers == len(a.Layers) && r.SharedBy == "diff_ids"
	if sameLayers && len(r.Config) == 0 && r.History.FirstDiffering == nil && !historyMetaDiffers(a, b, opts) {
		return SameContent
	}
	return Different
}

// historyMetaDiffers compares what historyDiff does not: per-step
// comments, authors and (unless ignored) creation times.
func historyMetaDiffers(a, b *image.Image, opts Options) bool {
	ha, hb := a.History, b.History
	if len(ha) != len(hb) {
		return true
	}
	for i := range ha {
		x, y := ha[i], hb[i]
		if x.Comment != y.Comment || x.Author != y.Author || x.EmptyLayer != y.EmptyLayer {
			return true
		}
		if !opts.IgnoreTimestamps && !sameSecond(x.Created, y.Created) {
			return true
		}
	}
	return false
}

// sameSecond compares history times to the second: the Docker API's
// image history (all a daemon source has) reports whole seconds, while the
// config blob keeps nanoseconds.
func sameSecond(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

func strp(s string) *string { return &s }
