package version

import "strings"

// CompareRPM orders rpm [epoch:]version[-release] strings as rpm does
// (rpmVersionCompare): a missing epoch is 0, then version and release
// each by rpmvercmp.
func CompareRPM(a, b string) int {
	ea, va, ra := splitRPM(a)
	eb, vb, rb := splitRPM(b)
	if c := cmpDigits(ea, eb); c != 0 {
		return c
	}
	if c := RPMVerCmp(va, vb); c != 0 {
		return c
	}
	return RPMVerCmp(ra, rb)
}

func splitRPM(v string) (epoch, version, release string) {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// RPMVerCmp is rpm's rpmvercmp (lib/rpmvercmp.c): alternating runs of
// digits (by value) and letters (by strcmp), anything else a separator;
// '~' sorts before everything, the end included, and '^' after the end
// but before anything else.
func RPMVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ca, cb := byteAt(a, i), byteAt(b, j)
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		if ca == '^' || cb == '^' {
			switch {
			case i >= len(a):
				return -1
			case j >= len(b):
				return 1
			case ca != '^':
				return 1
			case cb != '^':
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		isNum := isDigit(a[i])
		if isNum {
			for si < len(a) && isDigit(a[si]) {
				si++
			}
			for sj < len(b) && isDigit(b[sj]) {
				sj++
			}
		} else {
			for si < len(a) && isAlpha(a[si]) {
				si++
			}
			for sj < len(b) && isAlpha(b[sj]) {
				sj++
			}
		}
		// Segments of different kinds: a number is newer than letters.
		if sj == j {
			if isNum {
				return 1
			}
			return -1
		}
		var c int
		if isNum {
			c = cmpDigits(a[i:si], b[j:sj])
		} else {
			c = cmpString(a[i:si], b[j:sj])
		}
		if c != 0 {
			return c
		}
		i, j = si, sj
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i >= len(a):
		return -1
	}
	return 1
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}
