package version

import "strings"

// apk version tokens, in apk-tools' order (src/version.c): a token of a
// lower kind may only follow one of a higher kind in the ways the grammar
// allows ({digit}{.digit}…{letter}{_suf{#}}…{-r#}).
const (
	apkInvalid = iota - 1
	apkDigitOrZero
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkRevisionNo
	apkEnd
)

var (
	apkPreSuffixes  = []string{"alpha", "beta", "pre", "rc"}
	apkPostSuffixes = []string{"cvs", "svn", "git", "hg", "p"}
)

// CompareAPK orders Alpine package versions as apk-tools 2 does
// (apk_version_compare): numbers by value (a component after a dot with
// leading zeros ranks below any without), then a letter, then suffixes
// (_alpha < _beta < _pre < _rc < none < _cvs < _svn < _git < _hg < _p,
// each with an optional number), then the -rN revision.
func CompareAPK(a, b string) int {
	at, bt := apkDigit, apkDigit
	av, bv := 0, 0
	for at == bt && at != apkEnd && at != apkInvalid && av == bv {
		av = apkGetToken(&at, &a)
		bv = apkGetToken(&bt, &b)
	}
	if av != bv {
		return cmpInt(av, bv)
	}
	if at == bt {
		return 0
	}
	// The same so far: the longer one is newer, unless what it has more of
	// is a pre-release suffix.
	if tt, rest := at, a; at == apkSuffix && apkGetToken(&tt, &rest) < 0 {
		return -1
	}
	if tt, rest := bt, b; bt == apkSuffix && apkGetToken(&tt, &rest) < 0 {
		return 1
	}
	switch {
	case at > bt:
		return -1
	case bt > at:
		return 1
	}
	return 0
}

func apkNextToken(typ *int, s *string) {
	n := apkInvalid
	v := *s
	switch {
	case len(v) == 0 || v[0] == 0:
		n = apkEnd
	case (*typ == apkDigit || *typ == apkDigitOrZero) && v[0] >= 'a' && v[0] <= 'z':
		n = apkLetter
	case *typ == apkLetter && isDigit(v[0]):
		n = apkDigit
	case *typ == apkSuffix && isDigit(v[0]):
		n = apkSuffixNo
	default:
		switch v[0] {
		case '.':
			n = apkDigitOrZero
		case '_':
			n = apkSuffix
		case '-':
			if len(v) > 1 && v[1] == 'r' {
				n = apkRevisionNo
				v = v[1:]
			}
		}
		v = v[1:]
	}
	if n < *typ && !(n == apkDigitOrZero && *typ == apkDigit ||
		n == apkSuffix && *typ == apkSuffixNo ||
		n == apkDigit && *typ == apkLetter) {
		n = apkInvalid
	}
	*s, *typ = v, n
}

// apkGetToken reads one token of kind *typ from *s, returning its value
// and leaving in *typ the kind of the next one.
func apkGetToken(typ *int, s *string) int {
	v, i, nt := 0, 0, apkInvalid
	str := *s
	if len(str) == 0 {
		*typ = apkEnd
		return 0
	}
	switch *typ {
	case apkDigitOrZero, apkDigit, apkSuffixNo, apkRevisionNo:
		if *typ == apkDigitOrZero && str[0] == '0' {
			// Leading zeros after a dot: the more there are, the lower.
			for i < len(str) && str[i] == '0' {
				i++
			}
			nt, v = apkDigit, -i
			break
		}
		for i < len(str) && isDigit(str[i]) {
			if v < 1<<40 { // apk uses an int; only order matters here
				v = v*10 + int(str[i]-'0')
			}
			i++
		}
	case apkLetter:
		v = int(str[0])
		i = 1
	case apkSuffix:
		found := false
		for k, suf := range apkPreSuffixes {
			if strings.HasPrefix(str, suf) {
				v, i, found = k-len(apkPreSuffixes), len(suf), true
				break
			}
		}
		if !found {
			for k, suf := range apkPostSuffixes {
				if strings.HasPrefix(str, suf) {
					v, i, found = k, len(suf), true
					break
				}
			}
		}
		if !found {
			*typ = apkInvalid
			return -1
		}
	default:
		*typ = apkInvalid
		return -1
	}
	str = str[i:]
	switch {
	case len(str) == 0:
		*typ = apkEnd
	case nt != apkInvalid:
		*typ = nt
	default:
		apkNextToken(typ, &str)
	}
	*s = str
	return v
}
