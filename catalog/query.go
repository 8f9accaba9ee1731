package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Filter selects entries for List and Remove. Empty fields match anything.
type Filter struct {
	// Name is a repository as the catalog stores it (see Familiar).
	Name string
	Tag  string
	// Digest is a whole manifest, index or config digest; a user's
	// prefix of one is resolved into one by Resolve first.
	Digest string
	// Limit caps List (0: no cap).
	Limit int
}

// ParseFilter reads what a user names images by, without a catalog:
// "name", "name:tag", "name@digest", "name:tag@digest", or
// "sha256:<hex>". A digest may be a prefix and a bare hex string may be a
// name or a digest prefix: Resolve settles both against a catalog.
func ParseFilter(s string) Filter {
	var f Filter
	if n, d, ok := strings.Cut(s, "@"); ok {
		s, f.Digest = n, d
	} else if strings.HasPrefix(s, "sha256:") {
		return Filter{Digest: s}
	}
	if s == "" {
		return f
	}
	// The tag is after the last colon, unless that colon is a registry port.
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		s, f.Tag = s[:i], s[i+1:]
	}
	f.Name = Familiar(s)
	return f
}

// Matches reports whether e passes f (stores use it for the semantics they
// cannot push into SQL, and tests use it as the oracle).
func (f Filter) Matches(e Entry) bool {
	if f.Name != "" && e.Name != f.Name {
		return false
	}
	if f.Tag != "" && e.Tag != f.Tag {
		return false
	}
	if f.Digest != "" && e.ManifestDigest != f.Digest && e.IndexDigest != f.Digest && e.ConfigDigest != f.Digest {
		return false
	}
	return true
}

// ErrNoMatch is matched (errors.Is) by a *NoMatchError.
var ErrNoMatch = errors.New("no catalogued image matches")

// NoMatchError says nothing catalogued is named by Arg: catalog rm
// removed nothing, or a digest prefix matches no digest.
type NoMatchError struct{ Arg string }

func (e *NoMatchError) Error() string { return fmt.Sprintf("no catalogued image matches %q", e.Arg) }

// Is makes errors.Is(err, ErrNoMatch) hold.
func (e *NoMatchError) Is(target error) bool { return target == ErrNoMatch }

// Candidate is one digest an ambiguous prefix matches.
type Candidate struct {
	Digest string
	// Of describes what it is the digest of: "manifest of debian:12
	// linux/amd64", "config of …", "index of …".
	Of string
}

// AmbiguousError says a digest prefix matches several digests.
type AmbiguousError struct {
	Prefix     string
	Candidates []Candidate
	// More is how many further digests match beyond Candidates.
	More bool
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digest prefix %q is ambiguous: it matches", e.Prefix)
	for i, c := range e.Candidates {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (%s)", c.Digest, c.Of)
	}
	if e.More {
		b.WriteString(", and more")
	}
	b.WriteString("; give more digits")
	return b.String()
}

// maxCandidates is how many digests an ambiguity error lists.
const maxCandidates = 10

// Resolve turns a user's argument into a Filter a store applies exactly.
// A digest may be any unique prefix of a manifest, index or config digest,
// with or without "sha256:" (docker accepts image IDs so): several digests
// with that prefix are an *AmbiguousError listing them, none a
// *NoMatchError. A bare hex string is a name if some entry has that name,
// else a digest prefix, as with docker. Finding a prefix reads every entry
// (digests are not indexed): fine for ls and rm, not for hot paths.
func Resolve(ctx context.Context, c Catalog, arg string) (Filter, error) {
	f := ParseFilter(arg)
	if f.Digest == "" && f.Tag == "" && f.Name == arg && arg != "" && isHex(strings.ToLower(arg)) {
		es, err := c.List(ctx, Filter{Name: arg, Limit: 1})
		if err != nil {
			return Filter{}, err
		}
		if len(es) > 0 {
			return f, nil
		}
		f = Filter{Digest: arg}
	}
	if f.Digest == "" || ValidDigest(f.Digest) {
		return f, nil
	}
	hex := strings.ToLower(strings.TrimPrefix(f.Digest, "sha256:"))
	if hex == "" || len(hex) > 64 || !isHex(hex) {
		return Filter{}, fmt.Errorf("%q: %q is not a sha256 digest or a prefix of one", arg, f.Digest)
	}
	prefix := "sha256:" + hex
	ds, err := c.Digests(ctx, Filter{Name: f.Name, Tag: f.Tag, Limit: maxCandidates + 1}, prefix)
	if err != nil {
		return Filter{}, err
	}
	switch len(ds) {
	case 0:
		return Filter{}, &NoMatchError{Arg: arg}
	case 1:
		f.Digest = ds[0]
		return f, nil
	}
	amb := &AmbiguousError{Prefix: arg, More: len(ds) > maxCandidates}
	for _, d := range ds[:min(len(ds), maxCandidates)] {
		es, err := c.List(ctx, Filter{Name: f.Name, Tag: f.Tag, Digest: d, Limit: 1})
		if err != nil {
			return Filter{}, err
		}
		cand := Candidate{Digest: d}
		if len(es) > 0 {
			e := es[0]
			kind := "config"
			switch d {
			case e.ManifestDigest:
				kind = "manifest"
			case e.IndexDigest:
				kind = "index"
			}
			cand.Of = strings.TrimSpace(kind + " of " + e.Ref() + " " + e.Platform)
		}
		amb.Candidates = append(amb.Candidates, cand)
	}
	return Filter{}, amb
}

// Select returns the entries arg names (catalog ls ARG; "" lists all),
// resolved as Resolve does; a digest prefix matching nothing selects
// nothing.
func Select(ctx context.Context, c Catalog, arg string) ([]Entry, error) {
	f, err := Resolve(ctx, c, arg)
	if errors.Is(err, ErrNoMatch) {
		return []Entry{}, nil
	}
	if err != nil {
		return nil, err
	}
	es, err := c.List(ctx, f)
	if es == nil && err == nil {
		es = []Entry{}
	}
	return es, err
}

// RemoveRef removes the entries arg names (catalog rm ARG), resolved as
// Resolve does, and returns how many went: when none did, a *NoMatchError
// (errors.Is(err, ErrNoMatch)) so the caller can report "nothing removed".
func RemoveRef(ctx context.Context, c Catalog, arg string) (int, error) {
	if strings.TrimSpace(arg) == "" {
		return 0, errors.New("remove: no image named")
	}
	f, err := Resolve(ctx, c, arg)
	if err != nil {
		return 0, err
	}
	n, err := c.Remove(ctx, f)
	if err == nil && n == 0 {
		err = &NoMatchError{Arg: arg}
	}
	return n, err
}

// ListDigest is the one kind of digest catalog ls shows for e: its
// manifest digest, or, for an image with no manifest as bytes (a daemon
// image, a legacy docker save), its config digest with config true, to be
// marked as such.
func (e Entry) ListDigest() (d string, config bool) {
	if e.ManifestDigest != "" {
		return e.ManifestDigest, false
	}
	return e.ConfigDigest, e.ConfigDigest != ""
}

// ShortDigest is d's first 12 hex digits, as docker shows image IDs; any
// unique prefix is accepted back by Resolve.
func ShortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	return hex[:min(len(hex), 12)]
}

// DigestColumn renders e's ListDigest for a table: the short digest, with
// " (config)" after a config digest.
func (e Entry) DigestColumn() string {
	d, config := e.ListDigest()
	if config {
		return ShortDigest(d) + " (config)"
	}
	return ShortDigest(d)
}
