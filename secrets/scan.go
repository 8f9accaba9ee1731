package secrets

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/strata-tool/strata/history"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/provenance"
)

// DefaultMaxFileSize is the largest file scanned: secrets live in
// configuration, keys and scripts, not in large data files.
const DefaultMaxFileSize = 1 << 20

// Options tune a scan.
type Options struct {
	// MaxFileSize skips larger files (0: DefaultMaxFileSize).
	MaxFileSize int64
	// Ignore holds fingerprints of accepted findings, left out of the
	// report (counted in Report.Ignored).
	Ignore map[string]bool
	// NoFiles scans the metadata surfaces only.
	NoFiles bool
}

// Report is a scan's result.
type Report struct {
	Findings []Finding `json:"findings"`
	Ignored  int       `json:"ignored"`
	Files    FileStats `json:"files"`
}

// FileStats says what the file scan read.
type FileStats struct {
	// Entries counts the regular files of every layer; Candidates those
	// chosen by name, path and size, CandidateBytes their size.
	Entries        int   `json:"entries"`
	Candidates     int   `json:"candidates"`
	CandidateBytes int64 `json:"candidateBytes"`
	// Binary counts candidates skipped because their content is binary.
	Binary int `json:"binary"`
	// InPass counts candidates scanned in the pass that indexed their
	// layer; Read those read afterwards (their layer's index was cached).
	InPass int `json:"scannedWhileIndexing"`
	Read   int `json:"readAfterwards"`
	// Layers counts the layers by where their index came from (cache,
	// toc, blob, stream).
	Layers map[string]int `json:"layers"`
}

// Scanner scans one image. Make it before the layer index, whose Content hook it
// is (layerindex.Options.Content), so that a layer indexed now is scanned in
// the same pass.
type Scanner struct {
	opts Options
	mu   sync.Mutex
	// inPass holds the candidates scanned while indexing, and what they
	// held.
	inPass map[fileKey][]match
	binary map[fileKey]bool
}

type fileKey struct {
	layer  int
	offset int64
}

// New makes a scanner.
func New(opts Options) *Scanner {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	return &Scanner{opts: opts, inPass: map[fileKey][]match{}, binary: map[fileKey]bool{}}
}

// Scan scans every surface of the image im wraps; prov is its provenance
// attestation (nil: none).
func (s *Scanner) Scan(ctx context.Context, im *layerindex.Image, prov *provenance.Provenance) (*Report, error) {
	img := im.Image
	var fs []Finding
	fs = append(fs, configFindings(img)...)
	fs = append(fs, historyFindings(img)...)
	fs = append(fs, annotationFindings(img)...)
	fs = append(fs, provenanceFindings(prov)...)
	rep := &Report{Files: FileStats{Layers: map[string]int{}}}
	if !s.opts.NoFiles {
		files, err := s.scanFiles(ctx, im, &rep.Files)
		if err != nil {
			return nil, err
		}
		fs = append(fs, files...)
	}
	for i := range fs {
		fs[i].Fingerprint = fs[i].fingerprint()
		if s.opts.Ignore[fs[i].Fingerprint] {
			rep.Ignored++
			continue
		}
		rep.Findings = append(rep.Findings, fs[i])
	}
	sortFindings(rep.Findings)
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	return rep, nil
}

// Reveal puts the secrets themselves in the findings' values.
func (r *Report) Reveal() {
	for i := range r.Findings {
		r.Findings[i].Value = r.Findings[i].secret
	}
}

// configFindings scans Env and Labels as KEY=VALUE, each credited to the
// last step that set the key.
func configFindings(img *image.Image) []Finding {
	envStep, labelStep := setBy(img)
	var out []Finding
	for _, e := range img.Config.Config.Env {
		k, _, _ := strings.Cut(e, "=")
		out = append(out, keyed(SurfaceEnv, k, e, envStep[k])...)
	}
	for _, k := range sortedKeys(img.Config.Config.Labels) {
		out = append(out, keyed(SurfaceLabel, k, k+"="+img.Config.Config.Labels[k], labelStep[k])...)
	}
	return out
}

// keyed scans one KEY=VALUE of a metadata surface.
func keyed(surface, key, text string, step int) []Finding {
	var out []Finding
	for _, m := range scanText([]byte(text)) {
		f := newFinding(m, surface)
		f.Key, f.Step, f.Line = key, step, 0
		out = append(out, f)
	}
	return out
}

// setBy maps each ENV and LABEL key to the last step setting it.
func setBy(img *image.Image) (env, label map[string]int) {
	env, label = map[string]int{}, map[string]int{}
	for i, in := range history.TranslateAll(img) {
		for _, p := range in.Pairs {
			switch in.Keyword {
			case "ENV":
				env[p.Key] = i + 1
			case "LABEL":
				label[p.Key] = i + 1
			}
		}
	}
	return env, label
}

// historyFindings scans each entry's created_by (RUN text, build-arg
// prefixes, ARG and ENV lines) and comment.
func historyFindings(img *image.Image) []Finding {
	var out []Finding
	for i, h := range img.History {
		for _, text := range []string{h.CreatedBy, h.Comment} {
			for _, m := range scanText([]byte(text)) {
				f := newFinding(m, SurfaceHistory)
				f.Step = i + 1
				if h.Layer >= 0 {
					l := h.Layer
					f.Layer = &l
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// annotationFindings scans manifest, index, index-descriptor and layer
// annotations.
func annotationFindings(img *image.Image) []Finding {
	sets := []map[string]string{img.Annotations}
	if ix := img.Index; ix != nil {
		sets = append(sets, ix.Annotations)
		if ix.Chosen != nil {
			sets = append(sets, ix.Chosen.Annotations)
		}
	}
	for _, l := range img.Layers {
		sets = append(sets, l.Annotations)
	}
	var out []Finding
	seen := map[string]bool{}
	for _, set := range sets {
		for _, k := range sortedKeys(set) {
			kv := k + "=" + set[k]
			if !seen[kv] {
				seen[kv] = true
				out = append(out, keyed(SurfaceAnnotation, k, kv, 0)...)
			}
		}
	}
	return out
}

// provenanceFindings scans the build args a provenance attestation
// recorded, and the Dockerfile it carries.
func provenanceFindings(p *provenance.Provenance) []Finding {
	if p == nil {
		return nil
	}
	var out []Finding
	for _, k := range sortedKeys(p.BuildArgs) {
		out = append(out, keyed(SurfaceProvenance, "build-arg:"+k, k+"="+p.BuildArgs[k], 0)...)
	}
	for _, src := range p.Sources {
		for _, m := range scanText(src.Data) {
			f := newFinding(m, SurfaceProvenance)
			f.Key = src.Filename
			out = append(out, f)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
