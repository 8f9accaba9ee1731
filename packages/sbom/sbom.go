// Package sbom writes the packages strata found as SBOM documents: SPDX
// 2.3 JSON and CycloneDX 1.6 JSON, each package with its purl, declared
// licence and (as an annotation/property) the step that installed it.
package sbom

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/google/uuid"

	"github.com/strata-tool/strata/packages"
)

// Subject is the image the SBOM describes.
type Subject struct {
	// Name is the reference as the user gave it; Digest the manifest
	// digest (or, where there is none, the config digest).
	Name     string
	Digest   string
	Platform string
}

// Options shape a document.
type Options struct {
	// Created is the document's creation time (now when zero).
	Created time.Time
	// Tool is "strata" and its version, as creators name it.
	ToolVersion string
}

func (o Options) created() string {
	t := o.Created
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format(time.RFC3339)
}

// docID derives a stable UUID from what the document says, so two runs
// on one image at one time name the same document.
func docID(s Subject, o Options) uuid.UUID {
	h := sha256.Sum256([]byte(s.Name + "\x00" + s.Digest + "\x00" + o.created()))
	return uuid.NewSHA1(uuid.NameSpaceURL, h[:])
}

// spdxLicense is the licence as a valid SPDX expression, or "" when the
// recorded text is not one (apk's "GPL2", Python's "MIT License").
func spdxLicense(l string) string {
	l = strings.TrimSpace(l)
	if l == "" {
		return ""
	}
	if ok, _ := spdxexp.ValidateLicenses([]string{l}); ok {
		return l
	}
	return ""
}

// isSingleID reports whether an SPDX expression is one licence id.
func isSingleID(expr string) bool {
	return !strings.ContainsAny(expr, " ()")
}

// imagePURL is the subject's purl (pkg:oci, as the purl spec defines it).
func imagePURL(s Subject) string {
	name := s.Name
	if i := strings.LastIndexAny(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, "@")
	name, _, _ = strings.Cut(name, ":")
	if s.Digest == "" {
		return ""
	}
	return fmt.Sprintf("pkg:oci/%s@%s", strings.ToLower(name), strings.ReplaceAll(s.Digest, ":", "%3A"))
}

func stepNote(p packages.Package) string {
	if p.Step == 0 {
		return fmt.Sprintf("%s by layer %d", p.Change, p.Layer)
	}
	return fmt.Sprintf("%s at step %d (layer %d): %s", p.Change, p.Step, p.Layer, p.Instruction)
}
