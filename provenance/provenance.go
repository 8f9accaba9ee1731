// Package provenance reads BuildKit's in-toto SLSA provenance statements
// (predicate v0.2 and v1): the build args, the resolved base images with
// their digests, and — in mode=max — the original Dockerfile text. It is
// pure: callers fetch the attestation manifest and statement blobs.
package provenance

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/strata-tool/strata/image"
)

// Predicate types BuildKit writes.
const (
	SLSA02 = "https://slsa.dev/provenance/v0.2"
	SLSA1  = "https://slsa.dev/provenance/v1"
)

// Provenance is what strata uses from one statement.
type Provenance struct {
	PredicateType string `json:"predicateType"`
	BuildType     string `json:"buildType,omitempty"`
	Frontend      string `json:"frontend,omitempty"`
	// Args are the frontend options; BuildArgs the `build-arg:` ones with
	// the prefix removed (mode=max only).
	Args      map[string]string `json:"args,omitempty"`
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	// ConfigPath is the Dockerfile's name in the build context.
	ConfigPath string `json:"configPath,omitempty"`
	// Sources are the source files BuildKit kept (mode=max): the
	// Dockerfile, byte for byte.
	Sources []SourceFile `json:"sources,omitempty"`
	// Materials are every input the build resolved (base images of every
	// stage, the frontend image, git/http sources).
	Materials []Material `json:"materials,omitempty"`
	Subjects  []Subject  `json:"subjects,omitempty"`
}

// SourceFile is one source BuildKit recorded.
type SourceFile struct {
	Filename string `json:"filename"`
	Language string `json:"language,omitempty"`
	Data     []byte `json:"data"`
}

// Material is one resolved input.
type Material struct {
	URI    string `json:"uri"`
	Digest string `json:"digest,omitempty"`
	// For container images (pkg:docker / pkg:oci): the reference and
	// platform decoded from the package URL.
	Image    bool   `json:"image,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// Subject is an in-toto subject (the image the statement describes).
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// statement is the in-toto envelope, with the predicate left raw until
// its type is known.
type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

type material struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

type parameters struct {
	Frontend string            `json:"frontend"`
	Args     map[string]string `json:"args"`
}

type bkMetadata struct {
	Source *struct {
		Infos []SourceFile `json:"infos"`
	} `json:"source"`
}

// predicate02 mirrors BuildKit's ProvenancePredicateSLSA02, keeping only
// the fields strata reads.
type predicate02 struct {
	BuildType  string     `json:"buildType"`
	Materials  []material `json:"materials"`
	Invocation struct {
		ConfigSource struct {
			EntryPoint string `json:"entryPoint"`
		} `json:"configSource"`
		Parameters parameters `json:"parameters"`
	} `json:"invocation"`
	Metadata *struct {
		BuildKit bkMetadata `json:"https://mobyproject.org/buildkit@v1#metadata"`
	} `json:"metadata"`
}

// predicate1 mirrors ProvenancePredicateSLSA1.
type predicate1 struct {
	BuildDefinition struct {
		BuildType          string `json:"buildType"`
		ExternalParameters struct {
			ConfigSource struct {
				Path string `json:"path"`
			} `json:"configSource"`
			Request parameters `json:"request"`
		} `json:"externalParameters"`
		ResolvedDependencies []material `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Metadata *struct {
			BuildKit bkMetadata `json:"buildkit_metadata"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

// Parse reads one in-toto statement holding a SLSA provenance predicate.
func Parse(b []byte) (*Provenance, error) {
	var st statement
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse in-toto statement: %w", err)
	}
	p := &Provenance{PredicateType: st.PredicateType, Subjects: st.Subject}
	var mats []material
	var params parameters
	var meta *bkMetadata
	switch st.PredicateType {
	case SLSA02:
		var pr predicate02
		if err := json.Unmarshal(st.Predicate, &pr); err != nil {
			return nil, fmt.Errorf("parse SLSA v0.2 predicate: %w", err)
		}
		p.BuildType, p.ConfigPath = pr.BuildType, pr.Invocation.ConfigSource.EntryPoint
		mats, params = pr.Materials, pr.Invocation.Parameters
		if pr.Metadata != nil {
			meta = &pr.Metadata.BuildKit
		}
	case SLSA1:
		var pr predicate1
		if err := json.Unmarshal(st.Predicate, &pr); err != nil {
			return nil, fmt.Errorf("parse SLSA v1 predicate: %w", err)
		}
		bd := pr.BuildDefinition
		p.BuildType, p.ConfigPath = bd.BuildType, bd.ExternalParameters.ConfigSource.Path
		mats, params = bd.ResolvedDependencies, bd.ExternalParameters.Request
		if pr.RunDetails.Metadata != nil {
			meta = &pr.RunDetails.Metadata.BuildKit
		}
	default:
		return nil, fmt.Errorf("in-toto predicate type %q is not SLSA provenance", st.PredicateType)
	}
	p.Frontend, p.Args = params.Frontend, params.Args
	for k, v := range params.Args {
		if name, ok := strings.CutPrefix(k, "build-arg:"); ok {
			if p.BuildArgs == nil {
				p.BuildArgs = map[string]string{}
			}
			p.BuildArgs[name] = v
		}
	}
	if meta != nil && meta.Source != nil {
		p.Sources = meta.Source.Infos
	}
	for _, m := range mats {
		p.Materials = append(p.Materials, decodeMaterial(m))
	}
	return p, nil
}

func decodeMaterial(m material) Material {
	out := Material{URI: m.URI}
	if d := m.Digest["sha256"]; d != "" {
		out.Digest = "sha256:" + d
	} else {
		algs := make([]string, 0, len(m.Digest))
		for a := range m.Digest {
			algs = append(algs, a)
		}
		sort.Strings(algs)
		if len(algs) > 0 {
			out.Digest = algs[0] + ":" + m.Digest[algs[0]]
		}
	}
	rest, ok := strings.CutPrefix(m.URI, "pkg:docker/")
	if !ok {
		rest, ok = strings.CutPrefix(m.URI, "pkg:oci/")
	}
	if !ok {
		return out
	}
	out.Image = true
	path, query, _ := strings.Cut(rest, "?")
	if q, err := url.ParseQuery(query); err == nil {
		out.Platform = q.Get("platform")
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	// pkg:docker/<name>@<version>: the version is a tag or a digest.
	if i := strings.LastIndex(path, "@"); i > 0 {
		name, version := path[:i], path[i+1:]
		if strings.Contains(version, ":") {
			out.Ref = name + "@" + version
		} else {
			out.Ref = name + ":" + version
		}
	} else {
		out.Ref = path
	}
	return out
}

// Dockerfile returns the Dockerfile text BuildKit kept (mode=max), and
// the file name it was read under.
func (p *Provenance) Dockerfile() ([]byte, string, bool) {
	for _, s := range p.Sources {
		if s.Language == "Dockerfile" {
			return s.Data, s.Filename, true
		}
	}
	for _, s := range p.Sources {
		if p.ConfigPath != "" && s.Filename == p.ConfigPath {
			return s.Data, s.Filename, true
		}
	}
	return nil, "", false
}

// BaseImages lists the container images the build resolved, leaving out
// the Dockerfile frontend image (docker/dockerfile) that a `# syntax=` line
// pulls. With several stages every stage's base is listed; which one the
// final stage used is only known from the Dockerfile.
func (p *Provenance) BaseImages() []Material {
	var out []Material
	for _, m := range p.Materials {
		if !m.Image {
			continue
		}
		if src := p.Args["source"]; src != "" && strings.HasPrefix(m.Ref, strings.Split(src, "@")[0]) {
			continue
		}
		if strings.HasPrefix(m.Ref, "docker/dockerfile") {
			continue
		}
		out = append(out, m)
	}
	return out
}

// StatementLayers picks, from an attestation manifest, the in-toto layers
// that hold SLSA provenance.
func StatementLayers(manifest []byte) ([]image.Descriptor, error) {
	var m struct {
		Layers []image.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("parse attestation manifest: %w", err)
	}
	var out []image.Descriptor
	for _, l := range m.Layers {
		pt := l.Annotations[image.AnnotationInTotoPredicate]
		if pt == SLSA02 || pt == SLSA1 {
			out = append(out, l)
		}
	}
	return out, nil
}
