package sbom

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/strata-tool/strata/packages"
)

// SPDX 2.3 JSON (spdx.github.io/spdx-spec/v2.3), the fields strata fills.
type spdxDoc struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreation       `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID                string       `json:"SPDXID"`
	Name                  string       `json:"name"`
	VersionInfo           string       `json:"versionInfo,omitempty"`
	DownloadLocation      string       `json:"downloadLocation"`
	FilesAnalyzed         bool         `json:"filesAnalyzed"`
	LicenseConcluded      string       `json:"licenseConcluded"`
	LicenseDeclared       string       `json:"licenseDeclared"`
	LicenseComments       string       `json:"licenseComments,omitempty"`
	CopyrightText         string       `json:"copyrightText"`
	SourceInfo            string       `json:"sourceInfo,omitempty"`
	PrimaryPackagePurpose string       `json:"primaryPackagePurpose,omitempty"`
	ExternalRefs          []spdxExtRef `json:"externalRefs,omitempty"`
}

type spdxExtRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// WriteSPDX writes an SPDX 2.3 JSON document: the image as the package
// the document DESCRIBES, CONTAINS each installed package.
func WriteSPDX(w io.Writer, s Subject, pkgs []packages.Package, o Options) error {
	id := docID(s, o)
	doc := spdxDoc{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              s.Name,
		DocumentNamespace: "https://strata.invalid/spdx/" + id.String(),
		CreationInfo:      spdxCreation{Created: o.created(), Creators: []string{"Tool: strata-" + o.ToolVersion}},
		Packages:          []spdxPackage{},
		Relationships:     []spdxRelationship{},
	}
	img := spdxPackage{SPDXID: "SPDXRef-Image", Name: s.Name, VersionInfo: s.Digest, DownloadLocation: "NOASSERTION",
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		PrimaryPackagePurpose: "CONTAINER"}
	if p := imagePURL(s); p != "" {
		img.ExternalRefs = []spdxExtRef{{"PACKAGE-MANAGER", "purl", p}}
	}
	doc.Packages = append(doc.Packages, img)
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"})
	for i, p := range pkgs {
		sp := spdxPackage{
			SPDXID:                fmt.Sprintf("SPDXRef-Package-%s-%s-%d", p.Ecosystem, spdxIDUnsafe.ReplaceAllString(p.Name, "-"), i),
			Name:                  p.Name,
			VersionInfo:           p.Version,
			DownloadLocation:      "NOASSERTION",
			LicenseConcluded:      "NOASSERTION",
			LicenseDeclared:       "NOASSERTION",
			CopyrightText:         "NOASSERTION",
			SourceInfo:            fmt.Sprintf("%s, read from /%s", stepNote(p), p.Location),
			PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs:          []spdxExtRef{{"PACKAGE-MANAGER", "purl", p.PURL}},
		}
		if l := spdxLicense(p.License); l != "" {
			sp.LicenseDeclared = l
		} else if p.License != "" {
			sp.LicenseComments = "recorded as: " + p.License
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-Image", "CONTAINS", sp.SPDXID})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
