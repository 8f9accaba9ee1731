package diff

import (
	"sort"

	"github.com/strata-tool/strata/packages"
)

// Package change kinds between two images.
const (
	PkgAdded      = "added"
	PkgRemoved    = "removed"
	PkgUpgraded   = "upgraded"
	PkgDowngraded = "downgraded"
	PkgChanged    = "changed" // another version string that orders equal
)

// PackageChange is one package that differs. StepA and StepB are the
// steps (1-based, as strata layers numbers them) that last changed it on
// each side; 0 where the side lacks it.
type PackageChange struct {
	Ecosystem packages.Ecosystem `json:"ecosystem"`
	Name      string             `json:"name"`
	Arch      string             `json:"arch,omitempty"`
	Kind      string             `json:"kind"`
	A         string             `json:"a,omitempty"`
	B         string             `json:"b,omitempty"`
	StepA     int                `json:"stepA,omitempty"`
	StepB     int                `json:"stepB,omitempty"`
	Location  string             `json:"location"`
}

// PackageResult is the package diff, changes sorted by ecosystem and
// name, with counts per ecosystem and kind.
type PackageResult struct {
	Changes []PackageChange           `json:"changes"`
	Counts  map[string]map[string]int `json:"counts"`
	Same    int                       `json:"same"`
}

// Packages compares the packages of two images: a package is the same
// one on both sides when ecosystem, name, architecture and location
// agree; its versions are then ordered by the ecosystem's rules.
func Packages(a, b []packages.Package) *PackageResult {
	key := func(p packages.Package) string {
		return string(p.Ecosystem) + "\x00" + p.Name + "\x00" + p.Arch + "\x00" + p.Location
	}
	inA := map[string]packages.Package{}
	for _, p := range a {
		inA[key(p)] = p
	}
	res := &PackageResult{Changes: []PackageChange{}, Counts: map[string]map[string]int{}}
	add := func(c PackageChange) {
		res.Changes = append(res.Changes, c)
		if res.Counts[string(c.Ecosystem)] == nil {
			res.Counts[string(c.Ecosystem)] = map[string]int{}
		}
		res.Counts[string(c.Ecosystem)][c.Kind]++
	}
	seen := map[string]bool{}
	for _, pb := range b {
		k := key(pb)
		seen[k] = true
		c := PackageChange{Ecosystem: pb.Ecosystem, Name: pb.Name, Arch: pb.Arch, B: pb.Version, StepB: pb.Step, Location: pb.Location}
		pa, ok := inA[k]
		switch {
		case !ok:
			c.Kind = PkgAdded
		case pa.Version == pb.Version:
			res.Same++
			continue
		default:
			c.A, c.StepA = pa.Version, pa.Step
			switch v := packages.Compare(pb.Ecosystem, pb.Version, pa.Version); {
			case v > 0:
				c.Kind = PkgUpgraded
			case v < 0:
				c.Kind = PkgDowngraded
			default:
				c.Kind = PkgChanged
			}
		}
		add(c)
	}
	for _, pa := range a {
		if !seen[key(pa)] {
			add(PackageChange{Ecosystem: pa.Ecosystem, Name: pa.Name, Arch: pa.Arch, Kind: PkgRemoved, A: pa.Version, StepA: pa.Step, Location: pa.Location})
		}
	}
	rank := map[packages.Ecosystem]int{}
	for i, e := range packages.Ecosystems {
		rank[e] = i
	}
	sort.SliceStable(res.Changes, func(i, j int) bool {
		x, y := res.Changes[i], res.Changes[j]
		if x.Ecosystem != y.Ecosystem {
			return rank[x.Ecosystem] < rank[y.Ecosystem]
		}
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		return x.Location < y.Location
	})
	return res
}
