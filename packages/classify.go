package packages

import (
	"path"
	"strings"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// kind is what a file is to the scan.
type kind int

const (
	kindNone      kind = iota
	kindDpkg           // var/lib/dpkg/status
	kindDpkgD          // one file of var/lib/dpkg/status.d (distroless)
	kindAPK            // lib/apk/db/installed
	kindRPM            // a file of an rpm database directory
	kindPython         // dist-info METADATA, egg-info PKG-INFO or file
	kindNPM            // node_modules/…/package.json
	kindGo             // an executable that may be a Go binary
	kindOSRelease      // etc/os-release, usr/lib/os-release
)

func (k kind) ecosystem() Ecosystem {
	switch k {
	case kindDpkg, kindDpkgD:
		return Deb
	case kindAPK:
		return APK
	case kindRPM:
		return RPM
	case kindPython:
		return Python
	case kindNPM:
		return NPM
	case kindGo:
		return Go
	}
	return ""
}

// member is a file the scan reads, and the scope it belongs to: the
// database (several files for rpm and status.d), the site-packages
// directory, the npm package directory, the binary.
type member struct {
	kind  kind
	scope string
	file  layerindex.File
}

// classify says what f is to the scan (kindNone: nothing). Only regular
// files (and hardlinks to them) hold databases; symlinks are followed by
// the image's own layout, which keeps the real files at one of the paths
// listed (var/lib/rpm → usr/lib/sysimage/rpm).
func classify(f layerindex.File, wantGo bool) member {
	if f.Entry == nil || (f.Type != layers.TypeFile && f.Type != layers.TypeHardlink) {
		return member{}
	}
	p := f.Path
	m := member{file: f, scope: p}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case p == dpkgStatus:
		m.kind = kindDpkg
	case dir == dpkgStatusD && !strings.HasSuffix(base, ".md5sums"):
		m.kind, m.scope = kindDpkgD, dpkgStatusD
	case p == apkInstalled:
		m.kind = kindAPK
	case isRPMFile(base) && (dir == rpmDirs[0] || dir == rpmDirs[1]):
		m.kind, m.scope = kindRPM, dir
	case p == "etc/os-release" || p == "usr/lib/os-release":
		m.kind, m.scope = kindOSRelease, "os-release"
	default:
		if site, ok := pythonMetadata(p); ok {
			m.kind, m.scope = kindPython, site
		} else if pkgDir, ok := npmManifest(p); ok {
			m.kind, m.scope = kindNPM, pkgDir
		} else if wantGo && f.Type == layers.TypeFile && f.Mode&0o111 != 0 && f.Size >= goMinSize {
			m.kind = kindGo
		}
	}
	return m
}

// under reports whether p is root or below it.
func under(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+"/") || root == ""
}
