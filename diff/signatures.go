package diff

import "sort"

// OtherSignatures: the same content (or the same manifest) as far as
// the image goes, but what signs and attests it differs — a signed and
// an unsigned copy, or two copies attested differently.
const OtherSignatures Verdict = "same-content-different-signatures"

// SignatureDiff lists the referrers (signatures, attestations, SBOMs)
// one side has and the other does not, each "kind digest".
type SignatureDiff struct {
	OnlyA []string `json:"onlyA"`
	OnlyB []string `json:"onlyB"`
}

// CompareSignatures records what refers to each side (as
// referrers.Result.Fingerprint gives it) and, when the images are
// otherwise the same, makes a difference there the verdict.
func (r *Result) CompareSignatures(a, b []string) {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, s := range a {
		inA[s] = true
	}
	for _, s := range b {
		inB[s] = true
	}
	d := &SignatureDiff{OnlyA: []string{}, OnlyB: []string{}}
	for s := range inA {
		if !inB[s] {
			d.OnlyA = append(d.OnlyA, s)
		}
	}
	for s := range inB {
		if !inA[s] {
			d.OnlyB = append(d.OnlyB, s)
		}
	}
	sort.Strings(d.OnlyA)
	sort.Strings(d.OnlyB)
	r.Signatures = d
	if r.Verdict.Same() && len(d.OnlyA)+len(d.OnlyB) > 0 {
		r.Verdict = OtherSignatures
	}
}
