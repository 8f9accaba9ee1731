package packages

import (
	"path"
	"sort"
	"strings"
)

// evaluate recomputes the packages of one scope as layer i leaves it and
// records the differences from before as events of layer i.
func (s *scanState) evaluate(layer int, scope string, k kind) {
	paths := make([]string, 0, len(s.scopes[scope]))
	for p := range s.scopes[scope] {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if k == kindOSRelease {
		s.distro = [2]string{}
		for _, p := range []string{"usr/lib/os-release", "etc/os-release"} {
			if s.scopes[scope][p] {
				if d := s.parse(k, s.members[p]); len(d) == 1 {
					s.distro = [2]string{d[0].Name, d[0].Version}
				}
			}
		}
		return
	}
	var pkgs []Package
	switch k {
	case kindRPM:
		pkgs = s.rpm(scope, paths)
	default:
		for _, p := range paths {
			pkgs = append(pkgs, s.parse(k, s.members[p])...)
		}
	}
	if k == kindDpkg || k == kindDpkgD || k == kindAPK || k == kindRPM {
		s.dbRead(k.ecosystem(), scope, layer, len(paths) > 0)
	}
	for j := range pkgs {
		pkgs[j].scope = scope
	}
	s.apply(layer, s.pkgs[scope], pkgs)
	if len(pkgs) == 0 {
		delete(s.pkgs, scope)
	} else {
		s.pkgs[scope] = pkgs
	}
}

// parse reads one member's packages, memoised by content (the same
// package.json or status file often appears in several places or layers).
func (s *scanState) parse(k kind, m member) []Package {
	key := contentKey(m.file)
	var pkgs []Package
	if k == kindGo {
		pkgs = s.goPkgs[key]
	} else {
		mk := string(rune('0'+k)) + key
		var ok bool
		if pkgs, ok = s.parsed[mk]; !ok {
			b := s.content[key]
			switch k {
			case kindDpkg, kindDpkgD:
				pkgs = parseDpkg(m.file.Path, b)
			case kindAPK:
				pkgs = parseAPK(m.file.Path, b)
			case kindPython:
				pkgs = parsePython(m.file.Path, b)
			case kindNPM:
				pkgs = parseNPM(m.file.Path, b)
			case kindOSRelease:
				d := parseOSRelease(b)
				pkgs = []Package{{Name: d[0], Version: d[1]}}
			}
			s.parsed[mk] = pkgs
			s.keepParse(k, m.file.Digest, pkgs)
		}
	}
	out := make([]Package, len(pkgs))
	copy(out, pkgs)
	for i := range out {
		out[i].Location = m.file.Path
	}
	return out
}

// rpm reads one rpm database directory from the files it holds.
func (s *scanState) rpm(dir string, paths []string) []Package {
	files := map[string][]byte{}
	var keys []string
	for _, p := range paths {
		key := contentKey(s.members[p].file)
		files[path.Base(p)] = s.content[key]
		keys = append(keys, path.Base(p)+"="+key)
	}
	mk := "rpm\x00" + strings.Join(keys, "\x00")
	if pkgs, ok := s.parsed[mk]; ok {
		return append([]Package(nil), pkgs...)
	}
	pkgs, err := parseRPMDB(dir, files)
	if err != nil {
		s.note("%v", err)
	}
	s.parsed[mk] = pkgs
	return append([]Package(nil), pkgs...)
}

func (s *scanState) dbRead(eco Ecosystem, scope string, layer int, present bool) {
	d := s.dbLayers[scope]
	if d == nil {
		d = &Database{Ecosystem: eco, Path: scope}
		s.dbLayers[scope] = d
	}
	if present {
		d.Layers = append(d.Layers, layer)
	}
}

// apply compares a scope's packages before and after a layer.
func (s *scanState) apply(layer int, before, after []Package) {
	step, instr := 0, ""
	if st, ok := s.im.Step(layer); ok {
		step, instr = st.Step, st.Instruction
	}
	old := keyed(before)
	now := keyed(after)
	for k, p := range now {
		ev := Event{Layer: layer, Step: step, Version: p.Version}
		cur := s.current[k]
		switch {
		case cur != nil && cur.Version == p.Version:
			p.History, p.Layer, p.Step, p.Change, p.Instruction = cur.History, cur.Layer, cur.Step, cur.Change, cur.Instruction
			*cur = *p
			continue
		case cur != nil:
			ev.From = cur.Version
			switch c := Compare(p.Ecosystem, p.Version, cur.Version); {
			case c > 0:
				ev.Change = Upgraded
			case c < 0:
				ev.Change = Downgraded
			default:
				ev.Change = Changed
			}
			p.History = cur.History
		default:
			ev.Change = Installed
			if r := s.removed[k]; r != nil {
				p.History = r.History
				delete(s.removed, k)
			}
		}
		p.History = append(append([]Event(nil), p.History...), ev)
		p.Layer, p.Step, p.Change, p.Instruction = layer, step, ev.Change, instr
		cp := *p
		s.current[k] = &cp
	}
	for k, p := range old {
		if now[k] != nil {
			continue
		}
		cur := s.current[k]
		if cur == nil {
			continue
		}
		cur.History = append(cur.History, Event{Change: Removed, Layer: layer, Step: step, Version: p.Version})
		cur.Layer, cur.Step, cur.Change, cur.Instruction = layer, step, Removed, instr
		s.removed[k] = cur
		delete(s.current, k)
	}
}

// keyed indexes packages by identity; a second package with the same
// identity in one database (rpm keeps several kernels installed) is told
// apart by its version.
func keyed(pkgs []Package) map[string]*Package {
	out := make(map[string]*Package, len(pkgs))
	for i := range pkgs {
		k := pkgs[i].key()
		if out[k] != nil {
			k += "\x00" + pkgs[i].Version
		}
		out[k] = &pkgs[i]
	}
	return out
}

// parseOSRelease returns ID and VERSION_ID.
func parseOSRelease(b []byte) [2]string {
	var out [2]string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			out[0] = v
		case "VERSION_ID":
			out[1] = v
		}
	}
	return out
}

// result sorts and finishes what the replay left.
func (s *scanState) result() *Result {
	r := s.res
	r.Packages, r.Removed = []Package{}, []Package{}
	for _, p := range s.current {
		p.PURL = purl(*p, s.distro[0], s.distro[1])
		r.Packages = append(r.Packages, *p)
	}
	for _, p := range s.removed {
		p.PURL = purl(*p, s.distro[0], s.distro[1])
		r.Removed = append(r.Removed, *p)
	}
	sortPackages(r.Packages)
	sortPackages(r.Removed)
	r.Databases = []Database{}
	for _, d := range s.dbLayers {
		if len(d.Layers) > 0 {
			r.Databases = append(r.Databases, *d)
		}
	}
	sort.Slice(r.Databases, func(i, j int) bool { return r.Databases[i].Path < r.Databases[j].Path })
	r.Distro = s.distro[0]
	r.DistroVersion = s.distro[1]
	return &r
}

func sortPackages(ps []Package) {
	rank := map[Ecosystem]int{}
	for i, e := range Ecosystems {
		rank[e] = i
	}
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Ecosystem != b.Ecosystem {
			return rank[a.Ecosystem] < rank[b.Ecosystem]
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		return a.Version < b.Version
	})
}

// Compare orders two versions of an ecosystem's packages.
func Compare(e Ecosystem, a, b string) int { return compareVersions(e, a, b) }
