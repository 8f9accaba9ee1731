package catalog

import (
	"fmt"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// Catalogue names are repositories as docker prints them: Docker Hub's
// registry and "library/" left out ("debian", "bitnami/redis"), any other
// registry kept ("127.0.0.1:5000/test/base", "ghcr.io/org/app"). Names are
// parsed by package reference, as everywhere in strata.

// imageName is a parsed image reference.
type imageName struct {
	repo, tag, digest string
}

// parseName parses s as an image reference, keeping only a tag that s
// spells out.
func parseName(s string) (imageName, bool) {
	n, err := reference.ParseName(s)
	if err != nil {
		return imageName{}, false
	}
	return imageName{repo: n.FamiliarRepository(), tag: n.ExplicitTag(), digest: n.Digest()}, true
}

// Familiar renders an image repository ("docker.io/library/debian") the
// way the catalog stores names ("debian"); a string that is no image name
// comes back unchanged.
func Familiar(repo string) string {
	n, err := reference.ParseName(repo)
	if err != nil || n.ExplicitTag() != "" || n.Digest() != "" {
		return repo
	}
	return n.FamiliarRepository()
}

// Annotations naming an image in an OCI layout or archive index.
const (
	// AnnotationContainerdName is the full name containerd (Docker 29,
	// BuildKit's exporters) records beside ref.name.
	AnnotationContainerdName = "io.containerd.image.name"
)

// NameInput is what is known about an image's name, for ChooseName.
type NameInput struct {
	// Name is the user's NAME[:TAG] (catalog add --name); it wins.
	Name string
	// Ref is the reference the image was opened by, as the user gave it.
	Ref string
	// Registry says Ref is a registry reference.
	Registry bool
	// Annotations are those of the index descriptor the image was chosen
	// by, where it came from an OCI index (layouts, archives).
	Annotations map[string]string
	// RepoTags are the names a docker-save archive or daemon gives it.
	RepoTags []string
}

// ChooseName picks the name and tag an image is catalogued under, from the
// first of: the user's name; a registry reference; the index descriptor's
// io.containerd.image.name, then its org.opencontainers.image.ref.name
// when that is a whole reference; the RepoTags (the one the user asked for,
// if any is); else the reference itself. A ref.name that is only a tag (as
// skopeo and BuildKit write it) supplies the tag where the name chosen
// has none. Only an invalid user name is an error.
func ChooseName(in NameInput) (repo, tag string, err error) {
	if in.Name != "" {
		n, ok := parseName(in.Name)
		if !ok {
			return "", "", fmt.Errorf("%q is not an image name (NAME[:TAG], e.g. debian:bookworm or registry.example/team/base:1)", in.Name)
		}
		return n.repo, n.tag, nil
	}
	if in.Registry {
		if n, ok := parseName(strings.TrimPrefix(in.Ref, "docker://")); ok {
			if n.tag == "" && n.digest == "" {
				n.tag = "latest" // what the registry resolved
			}
			return n.repo, n.tag, nil
		}
	}
	var tagOnly string
	if v := in.Annotations[AnnotationContainerdName]; v != "" {
		if n, ok := parseName(v); ok {
			return n.repo, n.tag, nil
		}
	}
	if v := in.Annotations[image.AnnotationRefName]; v != "" {
		if strings.ContainsAny(v, "/:@") {
			if n, ok := parseName(v); ok {
				return n.repo, n.tag, nil
			}
		} else {
			tagOnly = v
		}
	}
	bare := stripTransport(in.Ref)
	asked, askedOK := parseName(bare)
	var first *imageName
	for _, t := range in.RepoTags {
		n, ok := parseName(t)
		if !ok {
			continue
		}
		if askedOK && n.repo == asked.repo && n.tag == asked.tag {
			return n.repo, n.tag, nil
		}
		if first == nil {
			first = &n
		}
	}
	if first != nil {
		return first.repo, first.tag, nil
	}
	if askedOK && !looksLikeID(bare) {
		if asked.tag == "" {
			asked.tag = tagOnly
		}
		return asked.repo, asked.tag, nil
	}
	// A path (archive, layout) or an image ID: the reference itself, with
	// a trailing :TAG selector as the tag.
	r, t := in.Ref, tagOnly
	if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") && !looksLikeID(bare) {
		r, t = r[:i], r[i+1:]
	}
	return r, t, nil
}

// NameFor is ChooseName with what img says about itself; ref is the
// reference it was opened by and user the user's --name, if any.
func NameFor(img *image.Image, ref, user string) (repo, tag string, err error) {
	in := NameInput{Name: user, Ref: ref, Registry: img.Transport == "registry", RepoTags: img.RepoTags}
	if img.Index != nil && img.Index.Chosen != nil {
		in.Annotations = img.Index.Chosen.Annotations
	}
	return ChooseName(in)
}

// stripTransport removes a daemon transport prefix; paths keep theirs.
func stripTransport(ref string) string {
	for _, p := range []string{"docker-daemon:", "docker://"} {
		if strings.HasPrefix(ref, p) {
			return ref[len(p):]
		}
	}
	return ref
}

// looksLikeID reports an image ID as a daemon takes it: a digest, or 12
// to 64 hex digits.
func looksLikeID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	return isHex(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
