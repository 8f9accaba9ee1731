package version

import (
	"regexp"
	"strconv"
	"strings"
)

// pep440 is PEP 440's permissive pattern (the one packaging.version uses):
// spellings such as "1.0-alpha.1", "v2", "1.0.post" normalise to one form.
var pep440 = regexp.MustCompile(`^\s*v?` +
	`(?:(\d+)!)?` + // epoch
	`(\d+(?:\.\d+)*)` + // release
	`(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?` + // pre
	`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?` + // post
	`(?:[-_.]?(dev)[-_.]?(\d+)?)?` + // dev
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`) // local

type pepVersion struct {
	epoch   int64
	release []int64
	// pre: phase 0 none, else 1 a, 2 b, 3 rc; post/dev -1 when absent.
	prePhase int
	pre      int64
	post     int64
	dev      int64
	local    []string
}

func parsePEP440(s string) (pepVersion, bool) {
	m := pep440.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return pepVersion{}, false
	}
	num := func(x string) int64 {
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	v := pepVersion{epoch: num(m[1]), post: -1, dev: -1}
	for _, p := range strings.Split(m[2], ".") {
		v.release = append(v.release, num(p))
	}
	switch m[3] {
	case "a", "alpha":
		v.prePhase = 1
	case "b", "beta":
		v.prePhase = 2
	case "c", "rc", "pre", "preview":
		v.prePhase = 3
	}
	v.pre = num(m[4])
	switch {
	case m[5] != "":
		v.post = num(m[5])
	case m[6] != "":
		v.post = num(m[7])
	}
	if m[8] != "" {
		v.dev = num(m[9])
	}
	if m[10] != "" {
		v.local = strings.FieldsFunc(m[10], func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	}
	return v, true
}

// ComparePEP440 orders Python versions by PEP 440: epoch, release
// (trailing zeros ignored), then .devN < aN < bN < rcN < final < .postN
// (a dev release of a pre or post release sorting just before it), then
// the local label (none < any; numeric segments above alphanumeric ones).
// Strings outside the grammar sort below every valid version, by text
// among themselves, as packaging's LegacyVersion did.
func ComparePEP440(a, b string) int {
	va, oka := parsePEP440(a)
	vb, okb := parsePEP440(b)
	switch {
	case !oka && !okb:
		return cmpString(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	if c := cmpInt(va.epoch, vb.epoch); c != 0 {
		return c
	}
	for i := 0; i < max(len(va.release), len(vb.release)); i++ {
		if c := cmpInt(at64(va.release, i), at64(vb.release, i)); c != 0 {
			return c
		}
	}
	for _, k := range [][2]int64{
		{va.preKey(), vb.preKey()}, {va.pre, vb.pre},
		{va.post, vb.post},
		{va.devKey(), vb.devKey()},
	} {
		if c := cmpInt(k[0], k[1]); c != 0 {
			return c
		}
	}
	return cmpLocal(va.local, vb.local)
}

func at64(s []int64, i int) int64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// preKey places a bare dev release (1.0.dev1) below every pre-release of
// its version, and a final release above them.
func (v pepVersion) preKey() int64 {
	switch {
	case v.prePhase == 0 && v.post < 0 && v.dev >= 0:
		return -1
	case v.prePhase == 0:
		return 4
	}
	return int64(v.prePhase)
}

// devKey: no dev part sorts after any dev part.
func (v pepVersion) devKey() int64 {
	if v.dev < 0 {
		return 1 << 62
	}
	return v.dev
}

func cmpLocal(a, b []string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		na, ea := strconv.ParseInt(a[i], 10, 64)
		nb, eb := strconv.ParseInt(b[i], 10, 64)
		var c int
		switch {
		case ea == nil && eb == nil:
			c = cmpInt(na, nb)
		case ea == nil:
			c = 1
		case eb == nil:
			c = -1
		default:
			c = cmpString(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmpInt(len(a), len(b))
}
