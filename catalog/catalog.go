// Package catalog records known images by the chain IDs of their layers so
// that another image's base can be found by content: an image whose entire
// chain is a prefix of ours is a parent (or an earlier ancestor); the same
// full chain is an identical image. The Catalog interface has two stores:
// catalog/sqlite (embedded default) and catalog/postgres (shared by many
// strata servers); both pass the suite in catalog/catalogtest.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-tool/strata/image"
)

// Kind says which chain a chain ID belongs to.
type Kind int

const (
	// DiffChain is the OCI ChainID over uncompressed diff_ids: content
	// identity, whatever the compression.
	DiffChain Kind = iota
	// BlobChain is the same construction over compressed blob digests:
	// what a registry knows without reading configs, and what children
	// pushed to a registry share with their parent byte for byte.
	BlobChain
)

func (k Kind) String() string {
	if k == BlobChain {
		return "blob chain"
	}
	return "diff_id chain"
}

// Entry is one catalogued platform image.
type Entry struct {
	// Name is the repository ("debian", "127.0.0.1:5000/test/base").
	Name string `json:"name"`
	// Tag may be empty for an image catalogued by digest.
	Tag            string `json:"tag,omitempty"`
	ManifestDigest string `json:"manifestDigest,omitempty"`
	// IndexDigest is the manifest list / index the platform image was
	// chosen from, where there was one.
	IndexDigest  string `json:"indexDigest,omitempty"`
	ConfigDigest string `json:"configDigest,omitempty"`
	// Platform is os/arch[/variant].
	Platform string `json:"platform,omitempty"`
	// ChainIDs[i] is the ChainID of layers 0..i over diff_ids; empty when
	// the source gave no diff_ids (repo-info metadata).
	ChainIDs []string `json:"chainIDs,omitempty"`
	// BlobChainIDs[i] is the chain over compressed blob digests; empty when
	// the source has no blobs (a daemon).
	BlobChainIDs []string `json:"blobChainIDs,omitempty"`
	// History[i] is the created_by text of the step that made layer i,
	// kept for display.
	History []string `json:"history,omitempty"`
	// Steps is the created_by of every history entry, empty ones included:
	// a child built FROM this image starts with exactly these steps, which
	// tells apart two images that share layers but not config, and says
	// where the base's steps end in the child's history.
	Steps []string `json:"steps,omitempty"`
	// Source is the reference the entry was read from.
	Source string    `json:"source,omitempty"`
	Added  time.Time `json:"added"`
}

// Ref renders name:tag, or name@digest for an untagged entry.
func (e Entry) Ref() string {
	if e.Tag != "" {
		return e.Name + ":" + e.Tag
	}
	if e.ManifestDigest != "" {
		return e.Name + "@" + e.ManifestDigest
	}
	return e.Name
}

// Layers is the number of layers the entry's chains cover.
func (e Entry) Layers() int {
	return max(len(e.ChainIDs), len(e.BlobChainIDs))
}

// Chain returns the chain of the given kind.
func (e Entry) Chain(k Kind) []string {
	if k == BlobChain {
		return e.BlobChainIDs
	}
	return e.ChainIDs
}

// Ident distinguishes versions of one name:tag on one platform: the
// manifest digest where there is one, else the config digest, else the top
// of a chain. Stores keep one entry per (name, tag, platform, ident), so an
// old version of a tag stays matchable after the tag moves.
func (e Entry) Ident() string {
	switch {
	case e.ManifestDigest != "":
		return e.ManifestDigest
	case e.ConfigDigest != "":
		return e.ConfigDigest
	case len(e.ChainIDs) > 0:
		return e.ChainIDs[len(e.ChainIDs)-1]
	case len(e.BlobChainIDs) > 0:
		return e.BlobChainIDs[len(e.BlobChainIDs)-1]
	}
	return ""
}

// ValidDigest reports whether s is a sha256 digest, the only form a chain
// ID takes (stores keep the 32 raw bytes). Hand-written because it runs for
// every layer of every imported entry.
func ValidDigest(s string) bool {
	if len(s) != len("sha256:")+64 || s[:7] != "sha256:" {
		return false
	}
	for i := 7; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Validate checks what the stores rely on.
func (e Entry) Validate() error {
	if err := e.ValidateShape(); err != nil {
		return err
	}
	for _, c := range [][]string{e.ChainIDs, e.BlobChainIDs} {
		for _, id := range c {
			if !ValidDigest(id) {
				return fmt.Errorf("catalog entry %s: chain ID %q is not a sha256 digest", e.Ref(), id)
			}
		}
	}
	return nil
}

// MaxLayers is the most layers a catalogued image may have. Container
// runtimes stop near 128 (overlayfs stacks no deeper), so anything beyond
// is a synthetic or hostile image; the bound keeps every lookup a single
// bounded statement however many layers the looked-up image has, and is
// within what PostgreSQL can index (a B-tree key of at most ~2.7 kB, two
// bytes of path per layer).
const MaxLayers = 1024

// ValidateShape is Validate without checking each chain ID's form, for
// stores that check it anyway while encoding them.
func (e Entry) ValidateShape() error {
	if e.Name == "" {
		return fmt.Errorf("catalog entry: empty name")
	}
	if len(e.ChainIDs) == 0 && len(e.BlobChainIDs) == 0 {
		return fmt.Errorf("catalog entry %s: no layer chain (an image with no layers cannot be matched)", e.Ref())
	}
	if n := e.Layers(); n > MaxLayers {
		return fmt.Errorf("catalog entry %s: %d layers; the catalog holds images of at most %d (no runtime stacks that many)", e.Ref(), n, MaxLayers)
	}
	if len(e.ChainIDs) > 0 && len(e.BlobChainIDs) > 0 && len(e.ChainIDs) != len(e.BlobChainIDs) {
		return fmt.Errorf("catalog entry %s: %d diff_id chain IDs but %d blob chain IDs", e.Ref(), len(e.ChainIDs), len(e.BlobChainIDs))
	}
	if len(e.History) > e.Layers() {
		return fmt.Errorf("catalog entry %s: %d history lines for %d layers", e.Ref(), len(e.History), e.Layers())
	}
	return nil
}

// Catalog is a store of entries, keyed by every prefix of their chains.
type Catalog interface {
	// Add stores entries in one transaction: all or none. An entry with the
	// same (name, tag, platform, ident) as a stored one replaces it.
	Add(ctx context.Context, entries ...Entry) error
	// ByTop returns the entries whose entire diff_id chain equals one of
	// diff or whose entire blob chain equals one of blob (either may be
	// nil) — one indexed probe per id, each entry once. To keep lookups
	// cheap the entries come without History (display text); List has it.
	ByTop(ctx context.Context, diff, blob []string) ([]Entry, error)
	// Shared returns how many leading ids (ids[0..n-1] being the chain
	// IDs of one image's prefixes) some catalogued chain of kind k also
	// has as a prefix: the depth at which the image leaves the catalog.
	Shared(ctx context.Context, k Kind, ids []string) (int, error)
	// List returns matching entries ordered by name, tag, platform.
	List(ctx context.Context, f Filter) ([]Entry, error)
	// Remove deletes matching entries and returns how many went.
	Remove(ctx context.Context, f Filter) (int, error)
	// Count returns the number of entries.
	Count(ctx context.Context) (int, error)
	// Each calls fn for every entry in List order (for export), stopping
	// at the first error.
	Each(ctx context.Context, fn func(Entry) error) error
	// Digests returns, in order, the distinct manifest, index and config
	// digests starting with prefix ("sha256:…") of the entries f selects,
	// at most f.Limit of them (0: all). It is how a user's digest prefix
	// is resolved (see Resolve); f.Digest must be empty.
	Digests(ctx context.Context, f Filter, prefix string) ([]string, error)
	Close() error
}

// BulkLoader is implemented by stores that fill an empty catalog faster
// by building their lookup indexes once at the end than row by row.
type BulkLoader interface {
	// BeginBulk drops the lookup indexes if the catalog is empty and
	// reports whether it did. Lookups stay correct meanwhile, but slow.
	BeginBulk(ctx context.Context) (bool, error)
	// EndBulk builds the lookup indexes.
	EndBulk(ctx context.Context) error
}

// Bulk starts a bulk load into c where c supports one and is empty. The
// returned finish must be called when the load ends, even on failure: it
// builds the indexes (and is a no-op when no bulk load started).
func Bulk(ctx context.Context, c Catalog) (finish func() error, err error) {
	b, ok := c.(BulkLoader)
	if !ok {
		return func() error { return nil }, nil
	}
	started, err := b.BeginBulk(ctx)
	if err != nil || !started {
		return func() error { return nil }, err
	}
	return func() error { return b.EndBulk(ctx) }, nil
}

// Match is a set of catalogued images whose whole chain is the first
// Layers layers of the looked-up image.
type Match struct {
	Layers int `json:"layers"`
	// Entries are every catalogued name/tag/platform sharing the match.
	Entries []Entry `json:"entries"`
	// By says which chains matched, per entry (parallel to Entries):
	// "diff_id chain", "blob chain" or both joined with " and ".
	By []string `json:"by"`
}

// Lookup finds every catalogued image whose entire diff_id or blob chain is
// a prefix of the given chains (either may be nil), grouped by length,
// longest first. A group of full length is the set of identical images;
// the next is the parent; the rest are the ancestry, since an ancestor's
// chain is a prefix of its child's.
func Lookup(ctx context.Context, c Catalog, diffChain, blobChain []string) ([]Match, error) {
	type hit struct {
		e  Entry
		by []string
		n  int
	}
	diffChain, blobChain = nonEmpty(diffChain), nonEmpty(blobChain)
	es, err := c.ByTop(ctx, diffChain, blobChain)
	if err != nil {
		return nil, fmt.Errorf("catalog lookup: %w", err)
	}
	hits := map[string]*hit{}
	var order []string
	for _, e := range es {
		h := &hit{e: e}
		for _, k := range []Kind{DiffChain, BlobChain} {
			ids := diffChain
			if k == BlobChain {
				ids = blobChain
			}
			// A chain ID names its whole chain, so a matching top at the
			// same depth is a matching chain.
			ch := e.Chain(k)
			if n := len(ch); n > 0 && n <= len(ids) && ch[n-1] == ids[n-1] {
				h.by = append(h.by, k.String())
				h.n = n
			}
		}
		if len(h.by) == 0 {
			continue
		}
		key := e.Name + "\x00" + e.Tag + "\x00" + e.Platform + "\x00" + e.Ident()
		if _, dup := hits[key]; !dup {
			order = append(order, key)
		}
		hits[key] = h
	}
	groups := map[int]*Match{}
	for _, key := range order {
		h := hits[key]
		m := groups[h.n]
		if m == nil {
			m = &Match{Layers: h.n}
			groups[h.n] = m
		}
		m.Entries = append(m.Entries, h.e)
		m.By = append(m.By, strings.Join(h.by, " and "))
	}
	out := make([]Match, 0, len(groups))
	for _, m := range groups {
		sortMatch(m)
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Layers > out[j].Layers })
	return out, nil
}

// nonEmpty returns ids when every element is set; a chain with a hole
// (a layer without a blob digest) cannot be compared.
func nonEmpty(ids []string) []string {
	for _, id := range ids {
		if id == "" {
			return nil
		}
	}
	return ids
}

func sortMatch(m *Match) {
	idx := make([]int, len(m.Entries))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return Less(m.Entries[idx[a]], m.Entries[idx[b]]) })
	es := make([]Entry, len(idx))
	by := make([]string, len(idx))
	for i, j := range idx {
		es[i], by[i] = m.Entries[j], m.By[j]
	}
	m.Entries, m.By = es, by
}

// Less orders entries by name, tag, platform, ident — the order List uses.
func Less(a, b Entry) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Tag != b.Tag {
		return a.Tag < b.Tag
	}
	if a.Platform != b.Platform {
		return a.Platform < b.Platform
	}
	return a.Ident() < b.Ident()
}

// FromImage builds an entry for img under name:tag, computing both chains
// where the image has what they need.
func FromImage(img *image.Image, name, tag string) Entry {
	e := Entry{
		Name:           name,
		Tag:            tag,
		ManifestDigest: img.ManifestDigest,
		ConfigDigest:   img.ID,
		Platform:       img.Platform.String(),
		Source:         img.Reference,
	}
	if img.Index != nil {
		e.IndexDigest = img.Index.Digest
	}
	if d := nonEmpty(img.DiffIDs()); len(d) > 0 {
		e.ChainIDs = image.ChainIDs(d)
	}
	if b := nonEmpty(img.BlobDigests()); len(b) > 0 {
		e.BlobChainIDs = image.BlobChainIDs(b)
	}
	e.History = make([]string, len(img.Layers))
	for _, h := range img.History {
		text := StepText(h.CreatedBy)
		e.Steps = append(e.Steps, text)
		if h.Layer >= 0 && h.Layer < len(e.History) {
			e.History[h.Layer] = text
		}
	}
	return e
}

// maxStepText bounds the created_by text kept per step: enough to show and
// compare any real instruction, while a hostile 12 MB RUN does not make
// every catalogued copy of it 12 MB.
const maxStepText = 4096

// StepText is a history entry's created_by as the catalog keeps it: whole
// when short, else its first bytes and the sha256 of the whole text, so two
// steps still compare equal exactly when their texts are equal. Whoever
// compares an image's steps with catalogued ones maps them through it too.
func StepText(createdBy string) string {
	if len(createdBy) <= maxStepText {
		return createdBy
	}
	sum := sha256.Sum256([]byte(createdBy))
	cut := maxStepText
	for cut > 0 && !utf8.RuneStart(createdBy[cut]) {
		cut--
	}
	return createdBy[:cut] + "… sha256:" + hex.EncodeToString(sum[:])
}
