package main

import (
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// catalogName picks the name:tag an image is catalogued under: the
// registry repository, else the name an archive, layout or daemon knows it
// by, else the reference; Docker Hub names shortened as docker prints them.
func catalogName(ref string, img *image.Image) (string, string) {
	if img.Transport == "registry" {
		if n, err := reference.ParseName(strings.TrimPrefix(ref, "docker://")); err == nil {
			return n.FamiliarRepository(), n.Tag()
		}
	}
	var known []string
	if img.Index != nil && img.Index.Chosen != nil {
		for _, k := range []string{"io.containerd.image.name", image.AnnotationRefName} {
			known = append(known, img.Index.Chosen.Annotations[k])
		}
	}
	known = append(known, img.RepoTags...)
	for _, k := range known {
		// A bare ref.name is a tag (skopeo's oci:DIR:tag), not a name.
		if strings.ContainsAny(k, "/:") {
			if n, err := reference.ParseName(k); err == nil {
				return n.FamiliarRepository(), n.ExplicitTag()
			}
		}
	}
	r := strings.TrimPrefix(ref, "docker-daemon:")
	if i := strings.Index(r, "@"); i >= 0 {
		return r[:i], ""
	}
	return splitNameTag(reference.Familiar(r))
}

func splitNameTag(s string) (string, string) {
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}
