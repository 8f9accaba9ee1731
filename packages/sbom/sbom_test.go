package sbom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/packages"
	"github.com/strata-tool/strata/packages/sbom"
	"github.com/strata-tool/strata/source"
)

func alpine(t *testing.T) (sbom.Subject, []packages.Package) {
	t.Helper()
	ref := filepath.Join(testenv.Fixtures(t), "images", "fanal", "alpine-311.tar.gz")
	src, err := source.Open(context.Background(), ref, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := packages.Scan(context.Background(), layerindex.New(src, layerindex.Options{}), packages.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) == 0 {
		t.Fatal("no packages: the SBOM tests would prove nothing")
	}
	return sbom.Subject{Name: "alpine:3.11", Digest: src.Image().ID}, res.Packages
}

var created = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// TestSPDXShape checks the document against SPDX 2.3's required fields
// and rules: SPDX identifiers, a DESCRIBES relationship, every
// relationship naming an element of the document, licences that are SPDX
// expressions or NOASSERTION, a purl per package.
func TestSPDXShape(t *testing.T) {
	subj, pkgs := alpine(t)
	var buf bytes.Buffer
	if err := sbom.WriteSPDX(&buf, subj, pkgs, sbom.Options{Created: created, ToolVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion, DataLicense, SPDXID, Name, DocumentNamespace string
		CreationInfo                                              struct {
			Created  string
			Creators []string
		}
		Packages []struct {
			SPDXID, Name, VersionInfo, DownloadLocation, LicenseConcluded, LicenseDeclared, CopyrightText string
			FilesAnalyzed                                                                                 *bool
			ExternalRefs                                                                                  []struct{ ReferenceCategory, ReferenceType, ReferenceLocator string }
		}
		Relationships []struct{ SpdxElementId, RelationshipType, RelatedSpdxElement string }
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" ||
		doc.Name == "" || !regexp.MustCompile(`^https://`).MatchString(doc.DocumentNamespace) {
		t.Errorf("document header: %+v", doc)
	}
	if _, err := time.Parse(time.RFC3339, doc.CreationInfo.Created); err != nil || len(doc.CreationInfo.Creators) == 0 ||
		!regexp.MustCompile(`^(Tool|Organization|Person): `).MatchString(doc.CreationInfo.Creators[0]) {
		t.Errorf("creationInfo %+v", doc.CreationInfo)
	}
	ids := map[string]bool{"SPDXRef-DOCUMENT": true}
	idRe := regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	declared := 0
	for _, p := range doc.Packages {
		if !idRe.MatchString(p.SPDXID) || ids[p.SPDXID] {
			t.Errorf("SPDXID %q invalid or repeated", p.SPDXID)
		}
		ids[p.SPDXID] = true
		if p.Name == "" || p.DownloadLocation == "" || p.LicenseConcluded == "" || p.LicenseDeclared == "" || p.CopyrightText == "" || p.FilesAnalyzed == nil {
			t.Errorf("package %s lacks a required field", p.SPDXID)
		}
		if p.LicenseDeclared != "NOASSERTION" {
			declared++
		}
		if p.SPDXID != "SPDXRef-Image" && (len(p.ExternalRefs) != 1 || p.ExternalRefs[0].ReferenceType != "purl" ||
			!regexp.MustCompile(`^pkg:apk/alpine/[^@]+@[^?]+\?arch=x86_64&distro=alpine-3\.11\.\d+$`).MatchString(p.ExternalRefs[0].ReferenceLocator)) {
			t.Errorf("package %s external refs %+v", p.Name, p.ExternalRefs)
		}
	}
	if len(doc.Packages) != len(pkgs)+1 {
		t.Errorf("%d SPDX packages for %d packages and the image", len(doc.Packages), len(pkgs))
	}
	// apk records "GPL-2.0-only", "MIT", "Zlib" (SPDX ids) beside "GPL2"
	// and "BSD" (not): the first kind is declared, the second is not.
	if declared == 0 || declared == len(pkgs) {
		t.Errorf("%d of %d licences declared: valid and invalid expressions are not told apart", declared, len(pkgs))
	}
	describes := 0
	for _, r := range doc.Relationships {
		if !ids[r.SpdxElementId] || !ids[r.RelatedSpdxElement] {
			t.Errorf("relationship %+v names an element the document lacks", r)
		}
		if r.RelationshipType == "DESCRIBES" {
			describes++
		}
	}
	if describes != 1 {
		t.Errorf("%d DESCRIBES relationships", describes)
	}
}

// TestCycloneDXShape checks CycloneDX 1.6's required fields and rules:
// bomFormat, specVersion, a urn:uuid serial number, unique bom-refs, a
// licence as exactly one of id, name or expression, dependencies naming
// components that exist.
func TestCycloneDXShape(t *testing.T) {
	subj, pkgs := alpine(t)
	var buf bytes.Buffer
	if err := sbom.WriteCycloneDX(&buf, subj, pkgs, sbom.Options{Created: created, ToolVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	type lic struct {
		License *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"license"`
		Expression string `json:"expression"`
	}
	type comp struct {
		BOMRef   string `json:"bom-ref"`
		Type     string `json:"type"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		PURL     string `json:"purl"`
		Licenses []lic  `json:"licenses"`
	}
	var bom struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Version      int    `json:"version"`
		Metadata     struct {
			Timestamp string `json:"timestamp"`
			Component comp   `json:"component"`
		} `json:"metadata"`
		Components   []comp `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.6" || bom.Version != 1 ||
		!regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("header %+v", bom)
	}
	if bom.Metadata.Component.Type != "container" || bom.Metadata.Component.BOMRef == "" {
		t.Errorf("metadata component %+v", bom.Metadata.Component)
	}
	refs := map[string]bool{bom.Metadata.Component.BOMRef: true}
	for _, c := range bom.Components {
		if refs[c.BOMRef] || c.BOMRef == "" || c.Type != "library" || c.Name == "" || c.Version == "" || c.PURL == "" {
			t.Errorf("component %+v", c)
		}
		refs[c.BOMRef] = true
		for _, l := range c.Licenses {
			n := 0
			if l.Expression != "" {
				n++
			}
			if l.License != nil && (l.License.ID != "") != (l.License.Name != "") {
				n++
			}
			if n != 1 {
				t.Errorf("%s: licence %+v is not exactly one of id, name, expression", c.Name, l)
			}
		}
	}
	if len(bom.Components) != len(pkgs) {
		t.Errorf("%d components for %d packages", len(bom.Components), len(pkgs))
	}
	for _, d := range bom.Dependencies {
		for _, r := range append([]string{d.Ref}, d.DependsOn...) {
			if !refs[r] {
				t.Errorf("dependency names %q, no such bom-ref", r)
			}
		}
	}
}
