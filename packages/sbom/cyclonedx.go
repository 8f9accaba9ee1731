package sbom

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/strata-tool/strata/packages"
)

// CycloneDX 1.6 JSON (cyclonedx.org/docs/1.6/json), the fields strata fills.
type cdxBOM struct {
	Schema       string          `json:"$schema"`
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	SerialNumber string          `json:"serialNumber"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     cdxTools     `json:"tools"`
	Component cdxComponent `json:"component"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	BOMRef     string        `json:"bom-ref,omitempty"`
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Licenses   []cdxLicense  `json:"licenses,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

// cdxLicense is one licence choice: an SPDX id, a name, or an expression.
type cdxLicense struct {
	License    *cdxLicenseID `json:"license,omitempty"`
	Expression string        `json:"expression,omitempty"`
}

type cdxLicenseID struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// WriteCycloneDX writes a CycloneDX 1.6 JSON BOM: the image as the
// metadata component, each package a library component with its purl,
// licence and strata:* properties (step, layer, location).
func WriteCycloneDX(w io.Writer, s Subject, pkgs []packages.Package, o Options) error {
	bom := cdxBOM{
		Schema:       "http://cyclonedx.org/schema/bom-1.6.schema.json",
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.6",
		SerialNumber: "urn:uuid:" + docID(s, o).String(),
		Version:      1,
		Metadata: cdxMetadata{
			Timestamp: o.created(),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "strata", Version: o.ToolVersion}}},
			Component: cdxComponent{BOMRef: "image", Type: "container", Name: s.Name, Version: s.Digest, PURL: imagePURL(s)},
		},
		Components: []cdxComponent{},
	}
	dep := cdxDependency{Ref: "image", DependsOn: []string{}}
	for i, p := range pkgs {
		c := cdxComponent{
			BOMRef:  fmt.Sprintf("pkg-%d", i),
			Type:    "library",
			Name:    p.Name,
			Version: p.Version,
			PURL:    p.PURL,
			Properties: []cdxProperty{
				{"strata:ecosystem", string(p.Ecosystem)},
				{"strata:step", fmt.Sprint(p.Step)},
				{"strata:layer", fmt.Sprint(p.Layer)},
				{"strata:change", string(p.Change)},
				{"strata:location", "/" + p.Location},
			},
		}
		if p.Arch != "" {
			c.Properties = append(c.Properties, cdxProperty{"strata:arch", p.Arch})
		}
		switch l := spdxLicense(p.License); {
		case l != "" && isSingleID(l):
			c.Licenses = []cdxLicense{{License: &cdxLicenseID{ID: l}}}
		case l != "":
			c.Licenses = []cdxLicense{{Expression: l}}
		case p.License != "":
			c.Licenses = []cdxLicense{{License: &cdxLicenseID{Name: p.License}}}
		}
		bom.Components = append(bom.Components, c)
		dep.DependsOn = append(dep.DependsOn, c.BOMRef)
	}
	bom.Dependencies = []cdxDependency{dep}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(bom)
}
