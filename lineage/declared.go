package lineage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/strata-tool/strata/image"
)

// declaration is one base the builder wrote down.
type declaration struct {
	signal   string
	refs     []string // several for a multi-stage provenance/buildinfo
	digest   string
	evidence string
	layers   int // known only for buildah's comment
	entries  int
}

// declarations gathers every builder-written base record, strongest first.
func declarations(img *image.Image, materials []Material) []declaration {
	var out []declaration
	var mats []Material
	for _, m := range materials {
		if !isFrontend(m.Ref) {
			mats = append(mats, m)
		}
	}
	if len(mats) > 0 {
		d := declaration{signal: SignalProvenance}
		for _, m := range mats {
			d.refs = append(d.refs, m.Ref)
		}
		if len(mats) == 1 {
			d.digest = mats[0].Digest
			d.evidence = fmt.Sprintf("provenance attestation lists base image %s", withDigest(mats[0].Ref, mats[0].Digest))
		} else {
			d.evidence = fmt.Sprintf("provenance attestation lists %d images (a multi-stage build); the final stage's base is one of them: %s", len(mats), strings.Join(d.refs, ", "))
		}
		out = append(out, d)
	}
	type source struct {
		where string
		ann   map[string]string
	}
	srcs := []source{{"manifest", img.Annotations}}
	if img.Index != nil {
		if img.Index.Chosen != nil {
			srcs = append(srcs, source{"index descriptor", img.Index.Chosen.Annotations})
		}
		srcs = append(srcs, source{"index", img.Index.Annotations})
	}
	for _, s := range srcs {
		name, digest := s.ann[image.AnnotationBaseName], s.ann[image.AnnotationBaseDigest]
		if name == "" && digest == "" {
			continue
		}
		d := declaration{signal: SignalAnnotation, digest: digest,
			evidence: fmt.Sprintf("%s annotations %s=%q %s=%q", s.where, image.AnnotationBaseName, name, image.AnnotationBaseDigest, digest)}
		if name != "" {
			d.refs = []string{name}
		}
		out = append(out, d)
		break
	}
	// buildah --layers commits every step as an image and writes "FROM
	// <intermediate ID>" on each; the base is the last FROM that names an
	// image rather than a bare ID.
	for i := len(img.History) - 1; i >= 0; i-- {
		h := img.History[i]
		j := strings.Index(h.Comment, "FROM ")
		if j < 0 || (j > 0 && h.Comment[j-1] != ' ') {
			continue
		}
		name := strings.Fields(h.Comment[j+len("FROM "):])
		if len(name) == 0 || reImageID.MatchString(name[0]) {
			continue
		}
		layers := 0
		for _, e := range img.History[:i] {
			if e.Layer >= 0 {
				layers++
			}
		}
		if layers >= len(img.Layers) {
			// Squashed: the base's layers were merged into the image's.
			layers = 0
		}
		out = append(out, declaration{signal: SignalBuildah, refs: []string{name[0]}, layers: layers, entries: i,
			evidence: fmt.Sprintf("buildah recorded %q in the comment of history entry %d; the %d entries before it are the base's", "FROM "+name[0], i, i)})
		break
	}
	if srcs := buildInfo(img.RawConfig); len(srcs) > 0 {
		d := declaration{signal: SignalBuildInfo}
		for _, s := range srcs {
			d.refs = append(d.refs, s.Ref)
		}
		if len(srcs) == 1 {
			d.digest = srcs[0].Pin
			d.evidence = fmt.Sprintf("BuildKit buildinfo names source image %s", withDigest(srcs[0].Ref, srcs[0].Pin))
		} else {
			d.evidence = fmt.Sprintf("BuildKit buildinfo names %d source images (a multi-stage build): %s", len(srcs), strings.Join(d.refs, ", "))
		}
		out = append(out, d)
	}
	labels := img.Config.Config.Labels
	if name, digest := labels[image.AnnotationBaseName], labels[image.AnnotationBaseDigest]; name != "" || digest != "" {
		d := declaration{signal: SignalLabel, digest: digest, evidence: fmt.Sprintf("config labels %s=%q %s=%q", image.AnnotationBaseName, name, image.AnnotationBaseDigest, digest)}
		if name != "" {
			d.refs = []string{name}
		}
		out = append(out, d)
	}
	return out
}

var reImageID = regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)

func withDigest(ref, digest string) string {
	if digest == "" || strings.Contains(ref, "@") {
		return ref
	}
	return ref + "@" + digest
}

// isFrontend spots the Dockerfile frontend image (# syntax=…), which
// provenance and buildinfo list among the inputs but is not a base.
func isFrontend(ref string) bool {
	r := normalize(ref)
	repo, _, _ := strings.Cut(r, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == "docker/dockerfile" || repo == "docker/dockerfile-upstream"
}

type buildSource struct {
	Type string `json:"type"`
	Ref  string `json:"ref"`
	Pin  string `json:"pin"`
}

// buildInfo reads the docker-image sources of moby.buildkit.buildinfo.v1
// (BuildKit 0.10–0.11 wrote it into the config, base64-encoded).
func buildInfo(raw []byte) []buildSource {
	if len(raw) == 0 {
		return nil
	}
	var cfg struct {
		BuildInfo string `json:"moby.buildkit.buildinfo.v1"`
	}
	if json.Unmarshal(raw, &cfg) != nil || cfg.BuildInfo == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(cfg.BuildInfo)
	if err != nil {
		return nil
	}
	var bi struct {
		Sources []buildSource `json:"sources"`
	}
	if json.Unmarshal(b, &bi) != nil {
		return nil
	}
	var out []buildSource
	for _, s := range bi.Sources {
		if s.Type == "docker-image" && !isFrontend(s.Ref) {
			out = append(out, s)
		}
	}
	return out
}

// normalize drops the default registry and library/ namespace so
// "docker.io/library/debian:bullseye" and "debian:bullseye" compare equal.
func normalize(ref string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		ref = strings.TrimPrefix(ref, p)
	}
	ref = strings.TrimPrefix(ref, "library/")
	if name, d, ok := strings.Cut(ref, "@"); ok {
		// name:tag@digest: the digest decides; keep both for display.
		return name + "@" + d
	}
	return ref
}

// sameRef compares a declared reference with a catalogued one, treating a
// missing tag as "latest" on either side.
func sameRef(declared, catalogued string) bool {
	a, b := normalize(declared), normalize(catalogued)
	a, _, _ = strings.Cut(a, "@")
	b, _, _ = strings.Cut(b, "@")
	if a == b {
		return true
	}
	withTag := func(r string) string {
		if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") {
			return r
		}
		return r + ":latest"
	}
	return withTag(a) == withTag(b)
}
