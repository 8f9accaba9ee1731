package sqlstore

import (
	"encoding/hex"
	"fmt"
)

// pack concatenates the raw bytes of sha256 digests.
func pack(ids []string) ([]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]byte, 32*len(ids))
	for i, id := range ids {
		if !decodeDigest(out[32*i:32*i+32], id) {
			return nil, fmt.Errorf("chain ID %q is not a sha256 digest", id)
		}
	}
	return out, nil
}

func rawDigest(id string) ([]byte, error) {
	b := make([]byte, 32)
	if !decodeDigest(b, id) {
		return nil, fmt.Errorf("chain ID %q is not a sha256 digest", id)
	}
	return b, nil
}

// nibble maps lowercase hex digits to their value and everything else to
// 0xff: validation and decoding in one pass, as import runs it for every
// layer of every entry.
var nibble = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

// decodeDigest writes the 32 bytes of "sha256:<64 lowercase hex>" to dst.
func decodeDigest(dst []byte, id string) bool {
	if len(id) != 71 || id[:7] != "sha256:" {
		return false
	}
	for i := 0; i < 32; i++ {
		hi, lo := nibble[id[7+2*i]], nibble[id[8+2*i]]
		if hi > 15 || lo > 15 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unpack(b []byte) ([]string, error) {
	if len(b)%32 != 0 {
		return nil, fmt.Errorf("stored chain of %d bytes is not a whole number of digests", len(b))
	}
	out := make([]string, 0, len(b)/32)
	for i := 0; i < len(b); i += 32 {
		out = append(out, "sha256:"+hex.EncodeToString(b[i:i+32]))
	}
	return out, nil
}

// pathLen is how many bytes of each chain ID a path keeps.
const pathLen = 8

// path keeps the first pathLen bytes of each 32-byte chain ID of a packed
// chain, so the path of a prefix is a prefix of the path.
func path(chain []byte) []byte {
	if len(chain) == 0 {
		return nil
	}
	out := make([]byte, 0, len(chain)/32*pathLen)
	for i := 0; i+32 <= len(chain); i += 32 {
		out = append(out, chain[i:i+pathLen]...)
	}
	return out
}
