package secrets

import (
	"strings"
	"testing"
)

// BenchmarkScanText: text with none of the rules' keywords costs one
// table lookup a byte (go test -bench ScanText ./secrets).
func BenchmarkScanText(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 2000; i++ {
		sb.WriteString("line 12 of file 345 in dir 6: the quick brown fox jumps over the lazy dog\n")
		sb.WriteString("func F12_3(x int) int { return x*3 + 12 } // generated, with a password field\n")
	}
	text := []byte(sb.String())
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		scanText(text)
	}
}
