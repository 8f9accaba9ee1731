package version

import "strings"

// CompareDpkg orders Debian versions ([epoch:]upstream[-revision]) as
// dpkg --compare-versions does (deb-version(7), Debian Policy 5.6.12):
// epochs numerically, then upstream and revision alternately by non-digit
// runs (letters before non-letters, '~' before everything, even the end)
// and digit runs by value.
func CompareDpkg(a, b string) int {
	ea, ua, ra := splitDpkg(a)
	eb, ub, rb := splitDpkg(b)
	if c := cmpDigits(ea, eb); c != 0 {
		return c
	}
	if c := dpkgVerrevcmp(ua, ub); c != 0 {
		return c
	}
	return dpkgVerrevcmp(ra, rb)
}

// splitDpkg splits [epoch:]upstream[-revision]; the revision starts after
// the last hyphen, the epoch ends at the first colon.
func splitDpkg(v string) (epoch, upstream, revision string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// dpkgOrder is dpkg's order(): digits and the end of string weigh 0,
// letters their ASCII value, '~' -1, everything else its value + 256.
func dpkgOrder(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return c
	case c == '~':
		return -1
	case c != 0:
		return c + 256
	}
	return 0
}

// dpkgVerrevcmp is dpkg's verrevcmp (lib/dpkg/version.c).
func dpkgVerrevcmp(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) int {
		if k < len(s) {
			return int(s[k])
		}
		return 0
	}
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := dpkgOrder(at(a, i)), dpkgOrder(at(b, j))
			if ac != bc {
				return cmpInt(ac, bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return cmpInt(firstDiff, 0)
		}
	}
	return 0
}
