package version

import (
	"regexp"
	"strings"
)

// semverRe is SemVer 2.0.0 with the leniencies npm and Go allow: a leading
// "v" or "=", and (npm "loose") missing minor or patch numbers.
var semverRe = regexp.MustCompile(`^\s*[v=]?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?` +
	`(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$`)

// CompareSemver orders versions by SemVer 2.0.0 precedence (npm
// packages, Go modules): major, minor, patch numerically; a pre-release
// ranks below its release, its dot-separated identifiers compared
// numerically when both are numbers, else in ASCII order, numbers below
// words, a shorter list below a longer one it prefixes; build metadata is
// ignored. Strings that are not versions sort below every version, by
// text among themselves.
func CompareSemver(a, b string) int {
	ma, mb := semverRe.FindStringSubmatch(a), semverRe.FindStringSubmatch(b)
	switch {
	case ma == nil && mb == nil:
		return cmpString(a, b)
	case ma == nil:
		return -1
	case mb == nil:
		return 1
	}
	for i := 1; i <= 3; i++ {
		if c := cmpDigits(orZero(ma[i]), orZero(mb[i])); c != 0 {
			return c
		}
	}
	pa, pb := ma[4], mb[4]
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	ia, ib := strings.Split(pa, "."), strings.Split(pb, ".")
	for i := 0; i < min(len(ia), len(ib)); i++ {
		if c := cmpIdentifier(ia[i], ib[i]); c != 0 {
			return c
		}
	}
	return cmpInt(len(ia), len(ib))
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func cmpIdentifier(a, b string) int {
	na, nb := allDigits(a), allDigits(b)
	switch {
	case na && nb:
		return cmpDigits(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return cmpString(a, b)
}
