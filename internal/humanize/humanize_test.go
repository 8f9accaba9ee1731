package humanize

import "testing"

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{-1: "?", 0: "0 B", 999: "999 B", 1000: "1.0 kB", 2_155_520: "2.2 MB", 458_744_326: "458.7 MB", 1 << 40: "1.1 TB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
