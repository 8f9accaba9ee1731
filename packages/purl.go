package packages

import (
	"net/url"
	"strings"
)

// purl is the package URL (github.com/package-url/purl-spec) of p; distro
// is the os-release ID and VERSION_ID ("debian", "12") for the namespace
// and distro qualifier of system packages.
func purl(p Package, distroID, distroVersion string) string {
	var ns, name string
	q := url.Values{}
	switch p.Ecosystem {
	case Deb, APK, RPM:
		ns = distroID
		if ns == "" {
			ns = map[Ecosystem]string{Deb: "debian", APK: "alpine", RPM: "redhat"}[p.Ecosystem]
		}
		name = p.Name
		if p.Arch != "" {
			q.Set("arch", p.Arch)
		}
		if distroID != "" && distroVersion != "" {
			q.Set("distro", distroID+"-"+distroVersion)
		}
		if p.Ecosystem == RPM {
			if e, _, ok := strings.Cut(p.Version, ":"); ok {
				q.Set("epoch", e)
			}
		}
	case Python:
		// PEP 503 normalised, as the purl spec asks.
		name = strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(p.Name))
	case NPM:
		name = p.Name
		if s, n, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(s, "@") {
			ns, name = s, n
		}
	case Go:
		ns, name = splitLast(p.Name)
	}
	ver := p.Version
	if p.Ecosystem == RPM {
		if _, v, ok := strings.Cut(ver, ":"); ok {
			ver = v
		}
	}
	s := "pkg:" + string(p.Ecosystem) + "/"
	if ns != "" {
		s += escapePath(ns) + "/"
	}
	s += escape(name) + "@" + escape(ver)
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func splitLast(s string) (string, string) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

func escape(s string) string { return strings.ReplaceAll(url.PathEscape(s), "+", "%2B") }

// escapePath escapes each segment of a namespace, keeping its slashes;
// an npm scope's "@" is percent-encoded, as the purl spec requires.
func escapePath(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(escape(p), "@", "%40")
	}
	return strings.Join(parts, "/")
}
