package packages

import (
	"encoding/json"
	"path"
	"strings"
)

// npmManifest tells whether p is the package.json of an installed npm
// package — node_modules/NAME/package.json or
// node_modules/@SCOPE/NAME/package.json, at any depth — and returns the
// package's directory. A project's own package.json (not below
// node_modules) and files deeper inside a package are not installed
// packages.
func npmManifest(p string) (dir string, ok bool) {
	dir, base := path.Split(p)
	if base != "package.json" {
		return "", false
	}
	dir = strings.TrimSuffix(dir, "/")
	parent, name := path.Split(dir)
	parent = strings.TrimSuffix(parent, "/")
	if strings.HasPrefix(path.Base(parent), "@") {
		parent = path.Dir(parent)
	}
	if name == "" || name[0] == '.' || path.Base(parent) != "node_modules" {
		return "", false
	}
	return dir, true
}

// parseNPM reads name, version and licence ("license": "MIT", the old
// {"type": "MIT"} object, or a "licenses" array) from a package.json.
func parseNPM(p string, b []byte) []Package {
	var m struct {
		Name     string          `json:"name"`
		Version  string          `json:"version"`
		License  json.RawMessage `json:"license"`
		Licenses []struct {
			Type string `json:"type"`
		} `json:"licenses"`
	}
	if json.Unmarshal(b, &m) != nil || m.Name == "" || m.Version == "" {
		return nil
	}
	pkg := Package{Ecosystem: NPM, Name: m.Name, Version: m.Version, Location: p}
	var s string
	var obj struct {
		Type string `json:"type"`
	}
	switch {
	case json.Unmarshal(m.License, &s) == nil:
		pkg.License = s
	case json.Unmarshal(m.License, &obj) == nil:
		pkg.License = obj.Type
	default:
		var ls []string
		for _, l := range m.Licenses {
			if l.Type != "" {
				ls = append(ls, l.Type)
			}
		}
		if len(ls) > 1 {
			pkg.License = "(" + strings.Join(ls, " OR ") + ")"
		} else {
			pkg.License = strings.Join(ls, "")
		}
	}
	return []Package{pkg}
}
