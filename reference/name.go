// Package reference names images, once for all of strata: the transport an
// argument selects (registry, daemon, archive, layout, repo-info file) and
// the Docker-style normalisation of registry names (nginx means
// index.docker.io/library/nginx:latest), built on go-containerregistry's
// name package. Every verb, the catalog, the lineage and the sources read
// names through here, so "debian", "docker.io/library/debian:latest" and
// "registry-1.docker.io/library/debian" are one image everywhere.
package reference

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DockerHub is the canonical host of Docker Hub, as go-containerregistry
// spells it; docker.io and registry-1.docker.io are read as it.
const DockerHub = name.DefaultRegistry

// Name is a parsed registry-style image name: repository plus an optional
// tag and digest. The zero value is not a valid name.
type Name struct {
	registry string // canonical: index.docker.io for Docker Hub
	repo     string // full path inside the registry: library/nginx
	tag      string // "" when none was written
	digest   string // "" when none was written
}

// ParseName parses an image name as docker does: a missing registry is
// Docker Hub, a one-element Docker Hub path is under library/, and a
// missing tag stays missing (Tag reports "latest" as the default).
// "name:tag@digest" keeps both. Loopback names like 127.0.0.1:5000/x parse
// with their port.
func ParseName(s string) (Name, error) {
	if s == "" {
		return Name{}, fmt.Errorf("empty image name")
	}
	rest, dgst, hasDigest := strings.Cut(s, "@")
	var n Name
	if hasDigest {
		d, err := name.NewDigest("example.invalid/x@" + dgst)
		if err != nil {
			return Name{}, fmt.Errorf("image name %q: bad digest: %w", s, err)
		}
		n.digest = d.DigestStr()
	}
	repoPart := rest
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repoPart, n.tag = rest[:i], rest[i+1:]
		if _, err := name.NewTag("example.invalid/x:" + n.tag); err != nil {
			return Name{}, fmt.Errorf("image name %q: bad tag %q", s, n.tag)
		}
	}
	// registry-1.docker.io is Docker Hub's API host; go-containerregistry
	// only folds docker.io, so fold it here before parsing.
	if after, ok := strings.CutPrefix(repoPart, "registry-1.docker.io/"); ok {
		repoPart = "index.docker.io/" + after
	}
	r, err := name.NewRepository(repoPart)
	if err != nil {
		return Name{}, fmt.Errorf("%q is not an image name: %w", s, err)
	}
	n.registry, n.repo = r.RegistryStr(), r.RepositoryStr()
	return n, nil
}

// MustParseName is ParseName for constants in tests and tables.
func MustParseName(s string) Name {
	n, err := ParseName(s)
	if err != nil {
		panic(err)
	}
	return n
}

// FromGGCR converts a go-containerregistry reference.
func FromGGCR(r name.Reference) Name {
	n := Name{registry: r.Context().RegistryStr(), repo: r.Context().RepositoryStr()}
	switch v := r.(type) {
	case name.Tag:
		n.tag = v.TagStr()
	case name.Digest:
		n.digest = v.DigestStr()
	}
	return n
}

// IsHub reports whether the name is on Docker Hub.
func (n Name) IsHub() bool { return n.registry == DockerHub }

// Registry is the canonical registry host (index.docker.io for Hub).
func (n Name) Registry() string { return n.registry }

// Path is the repository path inside the registry (library/nginx).
func (n Name) Path() string { return n.repo }

// Repository is the full canonical repository: index.docker.io/library/nginx.
func (n Name) Repository() string { return n.registry + "/" + n.repo }

// Tag is the tag written, or "latest" when the name has neither a tag nor
// a digest (docker's default). A digest-only name has no tag.
func (n Name) Tag() string {
	if n.tag == "" && n.digest == "" {
		return "latest"
	}
	return n.tag
}

// ExplicitTag is the tag as written ("" when none).
func (n Name) ExplicitTag() string { return n.tag }

// Digest is the digest written ("" when none).
func (n Name) Digest() string { return n.digest }

// WithTag returns the name with another tag (and no digest).
func (n Name) WithTag(tag string) Name { n.tag, n.digest = tag, ""; return n }

// WithDigest returns the name pinned to a digest, keeping its tag.
func (n Name) WithDigest(d string) Name { n.digest = d; return n }

// String is the canonical full form: index.docker.io/library/nginx:latest,
// with @digest when pinned.
func (n Name) String() string {
	s := n.Repository()
	if t := n.Tag(); t != "" {
		s += ":" + t
	}
	if n.digest != "" {
		s += "@" + n.digest
	}
	return s
}

// FamiliarRepository is the repository as docker prints it: nginx,
// bitnami/redis, ghcr.io/o/r, 127.0.0.1:5000/x.
func (n Name) FamiliarRepository() string {
	if n.IsHub() {
		return strings.TrimPrefix(n.repo, "library/")
	}
	return n.Repository()
}

// Familiar is the name as docker prints it, with what was written of tag
// and digest: nginx, nginx:1.25, ghcr.io/o/r@sha256:…
func (n Name) Familiar() string {
	s := n.FamiliarRepository()
	if n.tag != "" {
		s += ":" + n.tag
	}
	if n.digest != "" {
		s += "@" + n.digest
	}
	return s
}

// GGCR converts to a go-containerregistry reference (the digest wins when
// both are set, as a pull by digest ignores the tag).
func (n Name) GGCR(opts ...name.Option) (name.Reference, error) {
	if n.digest != "" {
		return name.NewDigest(n.Repository()+"@"+n.digest, opts...)
	}
	return name.NewTag(n.Repository()+":"+n.Tag(), opts...)
}

// SameRepository reports whether two names are the same repository.
func (n Name) SameRepository(o Name) bool {
	return n.registry == o.registry && n.repo == o.repo
}

// Same reports whether two names denote the same image: the same
// repository, and the same digest where both are pinned, else the same tag
// (a missing tag being latest).
func (n Name) Same(o Name) bool {
	if !n.SameRepository(o) {
		return false
	}
	if n.digest != "" && o.digest != "" {
		return n.digest == o.digest
	}
	return n.Tag() == o.Tag() || (n.tag == "" && n.digest != "") || (o.tag == "" && o.digest != "")
}

// SameName compares two name strings as Same does; unparsable names are
// compared as written.
func SameName(a, b string) bool {
	na, errA := ParseName(a)
	nb, errB := ParseName(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return na.Same(nb)
}

// Familiar renders any name string in docker's familiar form, leaving an
// unparsable one as it is.
func Familiar(s string) string {
	n, err := ParseName(s)
	if err != nil {
		return s
	}
	return n.Familiar()
}

// MatchesStored reports whether a name a user typed to pick an image from
// an archive or layout (`app.tar:v1`) names a stored one
// (docker.io/library/app:v1): a bare tag matches any repository with that
// tag, anything else must be the same image.
func MatchesStored(want, stored string) bool {
	if want == stored {
		return true
	}
	if !strings.ContainsAny(want, "/:@") {
		// A bare word is a tag (skopeo's oci:DIR:tag) or a Hub repository.
		if n, err := ParseName(stored); err == nil {
			return n.ExplicitTag() == want || (n.IsHub() && n.FamiliarRepository() == want && n.Tag() == "latest")
		}
		return false
	}
	return SameName(want, stored)
}

// SameTag reports whether two name strings are the same repository at the
// same tag, a missing tag being latest and any digest ignored: how a
// declared base ("debian", docker.io/library/debian:latest@sha256:…) is
// matched with a catalogued name:tag. Unparsable names compare as written.
func SameTag(a, b string) bool {
	na, errA := ParseName(a)
	nb, errB := ParseName(b)
	if errA != nil || errB != nil {
		return a == b
	}
	tag := func(n Name) string {
		if n.tag == "" {
			return "latest"
		}
		return n.tag
	}
	return na.SameRepository(nb) && tag(na) == tag(nb)
}
