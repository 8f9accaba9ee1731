package packages

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// pythonMetadata tells whether p is the metadata file of an installed
// Python distribution, and the directory its distribution directory sits
// in (site-packages, dist-packages…), which is where one version replaces
// another: pip upgrades by removing requests-2.28.1.dist-info and writing
// requests-2.31.0.dist-info beside it.
//
//	…/NAME-VER.dist-info/METADATA   (wheels, PEP 376/627)
//	…/NAME-VER.egg-info/PKG-INFO    (setuptools, a directory)
//	…/NAME-VER.egg-info             (setuptools, a single file)
func pythonMetadata(p string) (site string, ok bool) {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info"),
		base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info"):
		return path.Dir(dir), true
	case strings.HasSuffix(base, ".egg-info"):
		return dir, true // the single-file form; a directory never reaches here
	}
	return "", false
}

// parsePython reads core metadata (an RFC 822 header block): Name,
// Version, and the licence as recorded — License-Expression (metadata
// 2.4), else a one-line License field, else the licence classifiers.
func parsePython(p string, b []byte) []Package {
	h := metadataHeaders(b)
	name, ver := first(h["name"]), first(h["version"])
	if name == "" || ver == "" {
		return nil
	}
	pkg := Package{Ecosystem: Python, Name: name, Version: ver, Location: p}
	switch lic := first(h["license"]); {
	case first(h["license-expression"]) != "":
		pkg.License = first(h["license-expression"])
	case lic != "" && lic != "UNKNOWN" && !strings.Contains(lic, "\n") && len(lic) <= 100:
		pkg.License = lic
	default:
		var ls []string
		for _, c := range h["classifier"] {
			if rest, ok := strings.CutPrefix(c, "License :: "); ok {
				parts := strings.Split(rest, " :: ")
				ls = append(ls, parts[len(parts)-1])
			}
		}
		pkg.License = strings.Join(ls, " OR ")
	}
	return []Package{pkg}
}

// metadataHeaders reads the header block, keys lower-cased, up to the
// first blank line (the description follows it).
func metadataHeaders(b []byte) map[string][]string {
	h := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	last := ""
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if vs := h[last]; len(vs) > 0 {
				vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		h[last] = append(h[last], strings.TrimSpace(v))
	}
	return h
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
