package image

import (
	"crypto/sha256"
	"encoding/hex"
)

// ChainIDs computes the OCI ChainID of every prefix of a diff_id list:
// ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
// Two images whose k-th ChainIDs agree share their first k+1 layers exactly.
func ChainIDs(diffIDs []string) []string {
	return chain(diffIDs)
}

// BlobChainIDs is the same construction over compressed blob digests:
// registries reuse a parent's blobs byte for byte, so children pushed to a
// registry share the parent's blob chain even where only blobs are known.
func BlobChainIDs(digests []string) []string {
	return chain(digests)
}

func chain(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if i == 0 {
			out[i] = id
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + id))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}
