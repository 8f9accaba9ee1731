package lineage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/reference"
)

// declaration is one base the builder wrote down.
type declaration struct {
	signal   string
	refs     []string // several for a multi-stage provenance/buildinfo
	digest   string
	evidence string
	// pins: the digest is the build's own record of what it resolved
	// (provenance, buildinfo), not a claim to be corroborated.
	pins bool
	// layers, entries and boundary: where the base ends, when the record
	// says (buildah's comment).
	layers, entries int
	boundary        string
}

// declarations gathers every builder-written base record, strongest first.
func (rs *resolver) declarations(materials []Material) []declaration {
	img := rs.img
	var out []declaration
	if d, ok := provenanceDeclaration(materials); ok {
		out = append(out, d)
	}
	if d, ok := annotationDeclaration(img); ok {
		out = append(out, d)
	}
	if d, ok := rs.buildahDeclaration(); ok {
		out = append(out, d)
	}
	if srcs := buildInfo(img.RawConfig); len(srcs) > 0 {
		d := declaration{signal: SignalBuildInfo, pins: true}
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

// provenanceDeclaration reads the provenance materials that are base
// images (the Dockerfile frontend image is not one).
func provenanceDeclaration(materials []Material) (declaration, bool) {
	var mats []Material
	for _, m := range materials {
		if !isFrontend(m.Ref) {
			mats = append(mats, m)
		}
	}
	if len(mats) == 0 {
		return declaration{}, false
	}
	d := declaration{signal: SignalProvenance, pins: true}
	for _, m := range mats {
		d.refs = append(d.refs, m.Ref)
	}
	if len(mats) == 1 {
		d.digest = mats[0].Digest
		d.evidence = fmt.Sprintf("provenance attestation lists base image %s", withDigest(mats[0].Ref, mats[0].Digest))
	} else {
		d.evidence = fmt.Sprintf("provenance attestation lists %d images (a multi-stage build); the final stage's base is one of them: %s", len(mats), strings.Join(d.refs, ", "))
	}
	return d, true
}

// annotationDeclaration reads org.opencontainers.image.base.* from the
// manifest, else the index descriptor, else the index. buildah writes
// them as manifest annotations (empty for FROM scratch); with --layers
// its base.digest is one of its own intermediate images', so a digest
// here is a claim to check, never pinned on its own.
func annotationDeclaration(img *image.Image) (declaration, bool) {
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
		return d, true
	}
	return declaration{}, false
}

func withDigest(ref, digest string) string {
	if digest == "" || strings.Contains(ref, "@") {
		return ref
	}
	return ref + "@" + digest
}

// isFrontend spots the Dockerfile frontend image (# syntax=…), which
// provenance and buildinfo list among the inputs but is not a base.
func isFrontend(ref string) bool {
	n, err := reference.ParseName(ref)
	if err != nil {
		return false
	}
	repo := n.FamiliarRepository()
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
