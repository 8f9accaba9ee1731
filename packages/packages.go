// Package packages reads the packages an image installs from the databases
// their package managers keep — dpkg (status and distroless status.d), apk,
// rpm (BerkeleyDB, NDB, SQLite), Python dist-info/egg-info metadata, npm
// node_modules, and the build information Go writes into its binaries —
// and blames each on the history step that installed, upgraded or removed
// it, by comparing the databases as each layer leaves them.
//
// Only database files are read, through the layer index (package
// layerindex): the listing tells which layers wrote which database files,
// and only those files' content is fetched (by range where the source and
// index allow). Nothing else in a layer is looked at.
package packages

import (
	"github.com/strata-tool/strata/packages/version"
)

// Ecosystem is a package manager's world; the names are purl types.
type Ecosystem string

// Ecosystems.
const (
	Deb    Ecosystem = "deb"
	APK    Ecosystem = "apk"
	RPM    Ecosystem = "rpm"
	Python Ecosystem = "pypi"
	NPM    Ecosystem = "npm"
	Go     Ecosystem = "golang"
)

// Ecosystems lists them in the order reports use.
var Ecosystems = []Ecosystem{Deb, APK, RPM, Python, NPM, Go}

// Scheme is how the ecosystem orders versions.
func (e Ecosystem) Scheme() version.Scheme {
	switch e {
	case Deb:
		return version.Dpkg
	case APK:
		return version.APK
	case RPM:
		return version.RPM
	case Python:
		return version.PEP440
	}
	return version.Semver
}

// Package is one installed package as its database records it, with the
// history of the steps that changed it.
type Package struct {
	Ecosystem Ecosystem `json:"ecosystem"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Arch      string    `json:"arch,omitempty"`
	// License is as the database records it (apk L:, rpm License, Python
	// License-Expression/License/classifiers, npm "license"); dpkg and Go
	// record none.
	License string `json:"license,omitempty"`
	// Source is the source package (dpkg Source, rpm source rpm, apk
	// origin) where it differs from Name.
	Source string `json:"source,omitempty"`
	// Location is the file the package was read from: the database, the
	// dist-info or package.json, the Go binary.
	Location string `json:"location"`
	PURL     string `json:"purl"`
	// Layer, Step and Change are the blame: the layer (0-based) and
	// history step (1-based, as strata layers numbers them) that installed
	// the package or last changed its version, and which of the two.
	Layer       int    `json:"layer"`
	Step        int    `json:"step"`
	Change      Change `json:"change"`
	Instruction string `json:"instruction,omitempty"`
	// History lists every change, oldest first (a removed package's last
	// entry is its removal).
	History []Event `json:"history"`

	// scope groups packages that replace each other: the database, the
	// site-packages directory, the package directory, the binary.
	scope string
}

// Change is what a step did to a package.
type Change string

// Changes.
const (
	Installed  Change = "installed"
	Upgraded   Change = "upgraded"
	Downgraded Change = "downgraded"
	// Changed: another version string that orders equal (1.0 vs 1.0.0).
	Changed Change = "changed"
	Removed Change = "removed"
)

// Event is one change to a package.
type Event struct {
	Change  Change `json:"change"`
	Layer   int    `json:"layer"`
	Step    int    `json:"step"`
	Version string `json:"version"`
	From    string `json:"from,omitempty"`
}

// key identifies a package across layers: the same name (and
// architecture) in the same scope.
func (p *Package) key() string {
	return string(p.Ecosystem) + "\x00" + p.scope + "\x00" + p.Name + "\x00" + p.Arch
}

// Database is one package database (or per-package metadata file) the
// scan read, with the layers whose versions of it were read.
type Database struct {
	Ecosystem Ecosystem `json:"ecosystem"`
	Path      string    `json:"path"`
	Layers    []int     `json:"layers"`
}

// Result is what Scan found.
type Result struct {
	// Packages are those the final file system holds, sorted by
	// ecosystem, name, arch, location.
	Packages []Package `json:"packages"`
	// Removed are packages a step removed and none reinstalled, with the
	// version they had.
	Removed []Package `json:"removed"`
	// Databases lists what was read.
	Databases []Database `json:"databases"`
	// Read counts the database files read and their bytes; Candidates the
	// executables examined for Go build information.
	FilesRead  int   `json:"filesRead"`
	BytesRead  int64 `json:"bytesRead"`
	Candidates int   `json:"goCandidates"`
	// Distro and DistroVersion are the final os-release ID and VERSION_ID.
	Distro        string   `json:"distro,omitempty"`
	DistroVersion string   `json:"distroVersion,omitempty"`
	Notes         []string `json:"notes,omitempty"`
}

func compareVersions(e Ecosystem, a, b string) int { return version.Compare(e.Scheme(), a, b) }
