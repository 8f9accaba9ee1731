package packages

import (
	"strings"
)

// dpkg's database: /var/lib/dpkg/status, one paragraph per package, or
// (distroless) one file per package under /var/lib/dpkg/status.d.
const (
	dpkgStatus  = "var/lib/dpkg/status"
	dpkgStatusD = "var/lib/dpkg/status.d"
)

// parseDpkg reads the packages of a status file (or one status.d entry).
// Packages dpkg only remembers — removed with their configuration files
// left, or known but not installed — are not installed and not listed
// (dpkg-query -W shows them with status "rc" / "pn").
func parseDpkg(path string, b []byte) []Package {
	var out []Package
	for _, st := range stanzas(b) {
		name, ver := st["Package"], st["Version"]
		if name == "" || ver == "" {
			continue
		}
		if status := strings.Fields(st["Status"]); len(status) == 3 {
			if s := status[2]; s == "not-installed" || s == "config-files" {
				continue
			}
		}
		p := Package{Ecosystem: Deb, Name: name, Version: ver, Arch: st["Architecture"], Location: path}
		if src := st["Source"]; src != "" {
			// "Source: name (version)" when the source version differs.
			if s, _, _ := strings.Cut(src, " "); s != name {
				p.Source = s
			}
		}
		out = append(out, p)
	}
	return out
}
