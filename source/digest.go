package source

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// The digest algorithms the OCI image spec registers. Anything else is
// refused rather than accepted unverified.
var digestAlgorithms = map[string]struct {
	hexLen int
	hasher func() hash.Hash
}{
	"sha256": {64, sha256.New},
	"sha512": {128, sha512.New},
}

// parseDigest checks a digest's form and returns a hasher for it.
func parseDigest(d string) (hash.Hash, error) {
	alg, enc, ok := strings.Cut(d, ":")
	if !ok || alg == "" || enc == "" {
		return nil, &kindError{msg: fmt.Sprintf("bad digest %q", d), kind: ErrCorrupt}
	}
	a, known := digestAlgorithms[alg]
	if !known {
		return nil, &kindError{msg: fmt.Sprintf("digest %s uses algorithm %q, which strata cannot verify (the OCI spec allows sha256 and sha512)", short(d), alg), kind: ErrUnsupported}
	}
	if len(enc) != a.hexLen || strings.Trim(enc, "0123456789abcdef") != "" {
		return nil, &kindError{msg: fmt.Sprintf("bad %s digest %q", alg, short(d)), kind: ErrCorrupt}
	}
	return a.hasher(), nil
}

// digestBytes is b's digest under d's algorithm (which must parse).
func digestMatches(d string, b []byte) (string, bool, error) {
	h, err := parseDigest(d)
	if err != nil {
		return "", false, err
	}
	h.Write(b)
	alg, _, _ := strings.Cut(d, ":")
	got := alg + ":" + hex.EncodeToString(h.Sum(nil))
	return got, got == d, nil
}

// short keeps a digest readable in a one-line message.
func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
