// Package lineage names an image's base and its whole ancestry, with the
// evidence for each step, strongest signal first: what the builder
// declared (provenance materials, base annotations, buildah's FROM comment,
// BuildKit buildinfo), then layer-chain matches against a catalog, then
// history fingerprints, which are only guesses. It also gives the one
// answer to "what is this image FROM, and where do the base's steps end in
// its history" that both strata base and strata dockerfile print (Result.
// From). It is pure given a catalog (which may be nil) and says "unknown"
// rather than guess wrong.
package lineage

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
)

// Signals, strongest first.
const (
	SignalProvenance  = "provenance"       // in-toto/SLSA materials
	SignalAnnotation  = "annotation"       // org.opencontainers.image.base.*
	SignalBuildah     = "buildah-from"     // buildah's "FROM …" history comment
	SignalBuildInfo   = "buildinfo"        // moby.buildkit.buildinfo.v1
	SignalChain       = "chain"            // diff_id / blob chain match
	SignalFingerprint = "fingerprint"      // base-image history fingerprint
	SignalBoundary    = "history-boundary" // an image's end seen in history
	SignalLabel       = "label"            // base.* keys set as config labels
	SignalRootFS      = "root-filesystem"  // the first layer starts from nothing
)

// Confidence levels.
const (
	// Verified: declared by the builder and confirmed by a chain match.
	Verified = "verified"
	// Declared: the builder wrote it down; not confirmed by content.
	Declared = "declared"
	// Matched: the layers match a catalogued image. A match, not proof:
	// BuildKit COPY --link or a rebase can produce one without FROM.
	Matched = "match"
	// Guess: read off history text.
	Guess = "guess"
)

// How the boundary between a base's steps and the image's own is known.
const (
	// BoundaryExact: a record says it (the catalogued base's own history
	// opens this image's, buildah --layers' FROM comment, ko's entries).
	BoundaryExact = "exact"
	// BoundaryInferred: read off the history with no record saying it (a
	// change of history format, the layer count of a catalogued base).
	BoundaryInferred = "inferred"
	// BoundaryGuessed: the base's closing CMD/ENTRYPOINT, or nothing at all.
	BoundaryGuessed = "guessed"
	// BoundaryUnknown: nothing tells where the base's steps end.
	BoundaryUnknown = "unknown"
)

// Kinds of FROM answer.
const (
	KindBase         = "base"         // a named image
	KindScratch      = "scratch"      // the image starts from an empty file system
	KindUnidentified = "unidentified" // nothing names a base; FROM scratch is a placeholder
)

// Material is a base image named in a provenance attestation (package
// provenance decodes them; the caller passes the image ones).
type Material struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// Input is what Resolve works from.
type Input struct {
	Image *image.Image
	// Materials are the provenance materials that are container images.
	Materials []Material
}

// Name is one catalogued (or declared) image sharing a step.
type Name struct {
	Ref string `json:"ref"`
	// Digest is the manifest digest: a catalogued one, or a declared one
	// that something corroborates. A digest only claimed is in the
	// evidence, never here.
	Digest   string `json:"digest,omitempty"`
	Index    string `json:"index,omitempty"`
	Platform string `json:"platform,omitempty"`
	// By says which chains matched ("diff_id chain", "blob chain", both).
	By string `json:"by,omitempty"`
	// History is "same" when the catalogued image's steps open this
	// image's history exactly, "differs" when they do not, "" when unknown.
	History string `json:"history,omitempty"`
}

// Step is one ancestor.
type Step struct {
	// Names are every image the evidence points at; more than one when the
	// evidence cannot tell them apart (same layers, different tags).
	Names []Name `json:"names"`
	// Layers is how many of this image's bottom layers the ancestor
	// accounts for; 0 when unknown (or merged away by a squash).
	Layers int `json:"layers"`
	// Entries is how many of this image's first history entries are the
	// ancestor's (its steps end before step Entries+1); Boundary says how
	// that is known.
	Entries    int      `json:"entries"`
	Boundary   string   `json:"boundary"`
	Signals    []string `json:"signals"`
	Confidence string   `json:"confidence"`
	Evidence   []string `json:"evidence"`
	// Caveats say what the step cannot tell: an unknown boundary, a
	// declared digest nothing confirms.
	Caveats []string `json:"caveats,omitempty"`
	// Unknown marks an ancestor that the history shows but nothing names.
	Unknown bool `json:"unknown,omitempty"`

	// claimed is a digest a declaration gave for the direct parent that
	// nothing has corroborated yet.
	claimed, claimedBy string
}

// Name returns the preferred name of the step ("" when unknown).
func (s Step) Name() string {
	if len(s.Names) == 0 {
		return ""
	}
	return s.Names[0].Ref
}

// Result is the lineage of one platform image.
type Result struct {
	Image    string `json:"image"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform"`
	Layers   int    `json:"layers"`
	// Identical are catalogued images with this image's whole chain.
	Identical []Name `json:"identical,omitempty"`
	// Ancestry is nearest first; empty (never null) when the image has no
	// known ancestor, FROM scratch included.
	Ancestry []Step `json:"ancestry"`
	// From is what the image's FROM line is: the nearest ancestor named
	// with authority, scratch, or unidentified.
	From  Base     `json:"from"`
	Notes []string `json:"notes,omitempty"`
}

// Base is the answer to "what is this image FROM": the one strata base
// and strata dockerfile both give, with how many of the image's layers and
// history entries are the base's.
type Base struct {
	// Kind is KindBase, KindScratch or KindUnidentified.
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// Digest pins Name only when something besides the claim itself
	// corroborates it (the catalog, provenance, buildinfo).
	Digest string `json:"digest,omitempty"`
	// Layers and Entries are the base's bottom layers and first history
	// entries in this image; Boundary says how they are known. With an
	// unknown boundary both are 0 and the whole history is the image's.
	Layers     int      `json:"layers"`
	Entries    int      `json:"entries"`
	Boundary   string   `json:"boundary"`
	Confidence string   `json:"confidence,omitempty"`
	Signals    []string `json:"signals,omitempty"`
	// Evidence says why, in full; Caveats say what the answer cannot tell.
	Evidence []string `json:"evidence"`
	Caveats  []string `json:"caveats,omitempty"`
}

// Ref renders the FROM reference: name@digest when the digest is
// corroborated, the name, or scratch.
func (b Base) Ref() string {
	switch {
	case b.Kind != KindBase || b.Name == "":
		return "scratch"
	case b.Digest != "" && !strings.Contains(b.Name, "@"):
		return b.Name + "@" + b.Digest
	}
	return b.Name
}

// NoteMatchNotProof is always attached when a chain match is used.
const NoteMatchNotProof = "a chain match means this image's bottom layers are byte-identical to the catalogued image's; it is a match, not proof of FROM (BuildKit COPY --link or a rebase can produce one)"

// Resolve computes the lineage of in.Image. cat may be nil (no catalog).
func Resolve(ctx context.Context, cat catalog.Catalog, in Input) (*Result, error) {
	if in.Image == nil {
		return nil, fmt.Errorf("lineage: no image")
	}
	rs := newResolver(ctx, cat, in.Image)
	if err := rs.matchChains(); err != nil {
		return nil, err
	}
	steps, direct, err := rs.reconcile(rs.declarations(in.Materials))
	if err != nil {
		return nil, err
	}
	steps = rs.placeDirect(steps, direct)
	steps = rs.addFingerprint(steps)
	steps = rs.addUnnamed(steps)
	for i := range steps {
		rs.settle(&steps[i])
	}
	if steps != nil {
		rs.r.Ancestry = steps
	}
	rs.r.From = rs.chooseFrom()
	rs.closingNotes()
	return rs.r, nil
}
