// Package version orders package versions the way each package manager
// does: dpkg, apk, rpm, PEP 440 (Python) and Semantic Versioning (npm, Go
// modules). Each comparison returns -1, 0 or +1 and never fails: a version
// a scheme cannot parse is still ordered, by the scheme's fallback rule
// (dpkg, apk and rpm compare any string; PEP 440 and semver fall back to a
// plain string comparison for strings outside their grammar).
package version

// Scheme names an ordering.
type Scheme string

// Schemes.
const (
	Dpkg   Scheme = "dpkg"
	APK    Scheme = "apk"
	RPM    Scheme = "rpm"
	PEP440 Scheme = "pep440"
	Semver Scheme = "semver"
)

// Compare orders a and b under scheme s; an unknown scheme compares the
// strings.
func Compare(s Scheme, a, b string) int {
	switch s {
	case Dpkg:
		return CompareDpkg(a, b)
	case APK:
		return CompareAPK(a, b)
	case RPM:
		return CompareRPM(a, b)
	case PEP440:
		return ComparePEP440(a, b)
	case Semver:
		return CompareSemver(a, b)
	}
	return cmpString(a, b)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt[T int | int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// cmpDigits compares two runs of decimal digits by value, however long
// (leading zeros ignored), without overflowing.
func cmpDigits(a, b string) int {
	for len(a) > 0 && a[0] == '0' {
		a = a[1:]
	}
	for len(b) > 0 && b[0] == '0' {
		b = b[1:]
	}
	if len(a) != len(b) {
		return cmpInt(len(a), len(b))
	}
	return cmpString(a, b)
}
