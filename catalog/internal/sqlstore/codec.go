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

// unpack renders a packed chain as digests, all of them slices of one
// string: two allocations per chain instead of two per chain ID, which
// was a fifth of a lookup's CPU.
func unpack(b []byte) ([]string, error) {
	if len(b)%32 != 0 {
		return nil, fmt.Errorf("stored chain of %d bytes is not a whole number of digests", len(b))
	}
	n := len(b) / 32
	if n == 0 {
		return []string{}, nil
	}
	const w = len("sha256:") + 64
	buf := make([]byte, n*w)
	for i := 0; i < n; i++ {
		copy(buf[i*w:], "sha256:")
		hex.Encode(buf[i*w+7:(i+1)*w], b[32*i:32*i+32])
	}
	all := string(buf)
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*w : (i+1)*w]
	}
	return out, nil
}

// pathLen is how many bytes of each chain ID a path keeps. Two bytes keep
// the path index about a quarter of the size it had with eight (the index
// is random-keyed, so at a million images its size decides how many pages
// every import batch dirties and how many a lookup misses in cache), and
// correctness never rested on the truncation being collision-free: ByTop
// confirms each hit against the full top chain ID and Shared walks past
// neighbours whose truncated path agrees further than their real chain.
// Changing it changes what is stored: bump SchemaVersion.
const pathLen = 2

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
