// Package repoinfo reads docker-library/repo-info "remote" markdown files
// (repos/<image>/remote/<tag>.md) into strata's image model. Those files are
// the only public record of what every official image looked like at one
// moment — index digest, per-platform manifest digest, config digest, blob
// list and history — so they seed the base-image catalog and its tests
// without pulling a single blob.
//
// The history is rebuilt from the rendered dockerfile block. repo-info strips
// the shell prefix (`/bin/sh -c `) and the `#(nop)` marker when it renders, so
// the created_by strings here are reconstructions in the builder's own form;
// layer pairing is exact because only RUN/ADD/COPY (and, under BuildKit, a
// WORKDIR that had to create its directory) produce layers.
package repoinfo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/strata-tool/strata/image"
)

// Transport is the image.Image Transport value for images read from repo-info.
const Transport = "repo-info"

// File is one parsed repo-info file: one tag of one official image.
type File struct {
	// Name is "<repo>:<tag>" as in the file's heading, e.g. "debian:bullseye".
	Name string
	Repo string
	Tag  string
	// Digest is the digest `docker pull` resolves the tag to: the manifest
	// list / OCI index digest, or the manifest digest for single-platform tags.
	Digest    string
	MediaType string
	// Platforms are the header's platform lines, as written ("linux; arm variant v7").
	Platforms []string
	Sections  []Section
	// Excerpt is set when the file was cut short (shared fixtures keep only
	// the first sections of large files); Sections then holds fewer entries
	// than Platforms.
	Excerpt bool
}

// Section is one platform's manifest within the file.
type Section struct {
	// PlatformText is the platform as written, e.g. "linux; arm64 variant v8".
	PlatformText string
	Platform     image.Platform
	// Attestation marks an "unknown; unknown" entry: a BuildKit attestation
	// manifest, whose "layers" are in-toto statements.
	Attestation       bool
	ManifestDigest    string
	ManifestMediaType string
	DockerVersion     string
	TotalSize         int64
	ImageID           string
	// BuildKit is set when the history carries BuildKit's "# buildkit" marks.
	BuildKit bool
	// Image is the rebuilt model (layers without diff_ids: repo-info lists
	// only blob digests). Nil for attestation sections.
	Image *image.Image
}

// ParseFile reads and parses a repo-info markdown file.
func ParseFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("repo-info: %w", err)
	}
	defer f.Close()
	rf, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("repo-info %s: %w", path, err)
	}
	return rf, nil
}

var (
	reHeading    = regexp.MustCompile("^## `([^`]+)`\\s*$")
	reSection    = regexp.MustCompile("^### `([^`]+)` - (.+?)\\s*$")
	rePull       = regexp.MustCompile(`^\$ docker pull [^@\s]+@(sha256:[0-9a-f]{64})\s*$`)
	reMIME       = regexp.MustCompile("^-\tManifest MIME: `([^`]+)`")
	reDockerVer  = regexp.MustCompile(`^-\tDocker Version: (\S+)`)
	reTotal      = regexp.MustCompile(`^-\tTotal Size: \*\*(.+?)\*\*`)
	reImageID    = regexp.MustCompile("^-\tImage ID: `(sha256:[0-9a-f]{64})`")
	reDefaultCmd = regexp.MustCompile("^-\tDefault Command: `(.*)`\\s*$")
	reLayer      = regexp.MustCompile("^\t-\t`(sha256:[0-9a-f]{64})`")
	reLayerSize  = regexp.MustCompile(`^\t\tSize: (.+?)\s*$`)
	reLayerMIME  = regexp.MustCompile(`^\t\tMIME: (\S+)`)
	rePlatform   = regexp.MustCompile(`^\t-\t(.+?)\s*$`)
	reDate       = regexp.MustCompile(`^# ([A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT)\s*$`)
)

// Parse reads one repo-info file.
func Parse(r io.Reader) (*File, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	p := &parser{f: &File{}, state: "header"}
	for sc.Scan() {
		line := sc.Text()
		p.lineNo++
		if strings.HasPrefix(line, "<!-- fixtures: EXCERPT") {
			p.f.Excerpt = true
			break
		}
		if err := p.line(line); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if p.state == "dockerfile" && !p.f.Excerpt {
		return nil, fmt.Errorf("unterminated dockerfile block")
	}
	if err := p.flush(); err != nil {
		return nil, err
	}
	if p.f.Name == "" {
		return nil, fmt.Errorf("no \"## `name:tag`\" heading: not a repo-info file")
	}
	fillIndex(p.f)
	return p.f, nil
}

// parser is Parse's state between lines: the file so far and the platform
// section being read.
type parser struct {
	f         *File
	sec       *Section
	state     string // header, section, dockerfile
	raw       []rawStep
	cmd       []string
	hasCmd    bool
	layers    []image.Layer
	lineNo    int
	inConsole bool
}

// flush finishes the current section: its image is built from what the
// section listed.
func (p *parser) flush() error {
	if p.sec == nil {
		return nil
	}
	if !p.sec.Attestation {
		img, err := buildImage(p.f, p.sec, p.raw, p.cmd, p.hasCmd, p.layers)
		if err != nil {
			return fmt.Errorf("section %q: %w", p.sec.PlatformText, err)
		}
		p.sec.Image = img
	}
	p.f.Sections = append(p.f.Sections, *p.sec)
	p.sec, p.raw, p.cmd, p.hasCmd, p.layers = nil, nil, nil, false, nil
	return nil
}

// line reads one line in the current state.
func (p *parser) line(line string) error {
	if p.state == "dockerfile" {
		return p.dockerfileLine(line)
	}
	if strings.HasPrefix(line, "```console") {
		p.inConsole = true
		return nil
	}
	if p.inConsole {
		p.consoleLine(line)
		return nil
	}
	if m := reHeading.FindStringSubmatch(line); m != nil {
		if p.f.Name != "" {
			return fmt.Errorf("line %d: second heading %q: one tag per file", p.lineNo, m[1])
		}
		p.f.Name = m[1]
		p.f.Repo, p.f.Tag, _ = strings.Cut(m[1], ":")
		return nil
	}
	if m := reSection.FindStringSubmatch(line); m != nil {
		if err := p.flush(); err != nil {
			return err
		}
		pl, att := parsePlatform(m[2])
		p.sec = &Section{PlatformText: m[2], Platform: pl, Attestation: att}
		p.state = "section"
		return nil
	}
	if strings.HasPrefix(line, "```dockerfile") {
		p.state = "dockerfile"
		return nil
	}
	if p.sec == nil {
		if m := reMIME.FindStringSubmatch(line); m != nil {
			p.f.MediaType = m[1]
		} else if m := rePlatform.FindStringSubmatch(line); m != nil {
			p.f.Platforms = append(p.f.Platforms, m[1])
		}
		return nil
	}
	return p.sectionLine(line)
}

// dockerfileLine reads the rendered history: "# <date>" lines, each
// followed by the instruction, possibly over several lines.
func (p *parser) dockerfileLine(line string) error {
	if strings.HasPrefix(line, "```") {
		p.state = "section"
		return nil
	}
	if m := reDate.FindStringSubmatch(line); m != nil {
		t, err := time.Parse(time.RFC1123, m[1])
		if err != nil {
			return fmt.Errorf("line %d: date %q: %w", p.lineNo, m[1], err)
		}
		p.raw = append(p.raw, rawStep{created: &t})
		return nil
	}
	switch {
	case len(p.raw) == 0:
		p.raw = append(p.raw, rawStep{text: line})
	case p.raw[len(p.raw)-1].text == "":
		p.raw[len(p.raw)-1].text = line
	default:
		// An instruction rendered over several lines: keep them joined.
		p.raw[len(p.raw)-1].text += "\n" + line
	}
	return nil
}

// consoleLine reads a ```console block: the `docker pull name@digest` line
// gives the file's digest, or the section's manifest digest.
func (p *parser) consoleLine(line string) {
	if strings.HasPrefix(line, "```") {
		p.inConsole = false
		return
	}
	if m := rePull.FindStringSubmatch(line); m != nil {
		if p.sec != nil {
			p.sec.ManifestDigest = m[1]
		} else {
			p.f.Digest = m[1]
		}
	}
}

// sectionLine reads one "-\tKey: value" line of a platform section.
func (p *parser) sectionLine(line string) error {
	sec := p.sec
	switch {
	case reMIME.MatchString(line):
		sec.ManifestMediaType = reMIME.FindStringSubmatch(line)[1]
	case reDockerVer.MatchString(line):
		sec.DockerVersion = reDockerVer.FindStringSubmatch(line)[1]
	case reTotal.MatchString(line):
		n, err := parseSize(reTotal.FindStringSubmatch(line)[1])
		if err != nil {
			return fmt.Errorf("line %d: %w", p.lineNo, err)
		}
		sec.TotalSize = n
	case reImageID.MatchString(line):
		sec.ImageID = reImageID.FindStringSubmatch(line)[1]
	case reDefaultCmd.MatchString(line):
		if err := json.Unmarshal([]byte(reDefaultCmd.FindStringSubmatch(line)[1]), &p.cmd); err != nil {
			return fmt.Errorf("line %d: default command: %w", p.lineNo, err)
		}
		p.hasCmd = true
	case reLayer.MatchString(line):
		p.layers = append(p.layers, image.Layer{Digest: reLayer.FindStringSubmatch(line)[1], Size: -1, UncompressedSize: -1})
	case reLayerSize.MatchString(line) && len(p.layers) > 0:
		n, err := parseSize(reLayerSize.FindStringSubmatch(line)[1])
		if err != nil {
			return fmt.Errorf("line %d: %w", p.lineNo, err)
		}
		p.layers[len(p.layers)-1].Size = n
	case reLayerMIME.MatchString(line) && len(p.layers) > 0:
		p.layers[len(p.layers)-1].MediaType = reLayerMIME.FindStringSubmatch(line)[1]
	}
	return nil
}

// Images returns the runnable (non-attestation) platform images in file order.
func (f *File) Images() []*image.Image {
	var out []*image.Image
	for i := range f.Sections {
		if f.Sections[i].Image != nil {
			out = append(out, f.Sections[i].Image)
		}
	}
	return out
}

// Platform returns the section for p (os/arch[/variant]).
func (f *File) Platform(p image.Platform) (*Section, bool) {
	for i := range f.Sections {
		s := &f.Sections[i]
		if !s.Attestation && s.Platform.OS == p.OS && s.Platform.Architecture == p.Architecture && s.Platform.Variant == p.Variant {
			return s, true
		}
	}
	return nil, false
}

// parsePlatform reads "linux; arm variant v7" / "windows; amd64; 10.0.20348.1487".
func parsePlatform(s string) (image.Platform, bool) {
	parts := strings.Split(s, "; ")
	var p image.Platform
	if len(parts) > 0 {
		p.OS = parts[0]
	}
	if len(parts) > 1 {
		arch, variant, _ := strings.Cut(parts[1], " variant ")
		p.Architecture, p.Variant = arch, variant
	}
	if len(parts) > 2 {
		p.OSVersion = parts[2]
	}
	return p, p.OS == "unknown" && p.Architecture == "unknown"
}

// parseSize reads "55.0 MB (55025206 bytes)" or, for small blobs, "249.0 B".
func parseSize(s string) (int64, error) {
	if i := strings.Index(s, "("); i >= 0 {
		j := strings.Index(s[i:], " bytes)")
		if j < 0 {
			return 0, fmt.Errorf("size %q: no byte count", s)
		}
		return strconv.ParseInt(s[i+1:i+j], 10, 64)
	}
	num, unit, ok := strings.Cut(s, " ")
	if !ok || unit != "B" {
		return 0, fmt.Errorf("size %q: want bytes", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	return int64(v), nil
}

// fillIndex attaches the index (manifest list) to every image, so lineage
// sees multi-arch images the way a registry transport presents them.
func fillIndex(f *File) {
	if !isIndexType(f.MediaType) {
		return
	}
	ix := &image.Index{Digest: f.Digest, MediaType: f.MediaType}
	var lastImage string
	for _, s := range f.Sections {
		p := s.Platform
		d := image.Descriptor{MediaType: s.ManifestMediaType, Digest: s.ManifestDigest, Size: -1, Platform: &p}
		if s.Attestation {
			// repo-info prints each attestation right after the image it
			// describes; the reference annotation is inferred from that order.
			d.Annotations = map[string]string{image.AnnotationDockerRefType: image.AttestationManifestType, image.AnnotationDockerRefDigest: lastImage}
			ix.Attestations = append(ix.Attestations, d)
			continue
		}
		lastImage = s.ManifestDigest
		ix.Manifests = append(ix.Manifests, d)
	}
	for i := range f.Sections {
		s := &f.Sections[i]
		if s.Image == nil {
			continue
		}
		cp := *ix
		for j := range ix.Manifests {
			if ix.Manifests[j].Digest == s.ManifestDigest {
				chosen := ix.Manifests[j]
				cp.Chosen = &chosen
			}
		}
		s.Image.Index = &cp
	}
}

func isIndexType(mt string) bool {
	return mt == image.MediaTypeDockerManifestList || mt == image.MediaTypeOCIIndex
}
