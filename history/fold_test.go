package history

import (
	"strings"
	"testing"
)

func FuzzFoldIsFieldsJoin(f *testing.F) {
	for _, s := range []string{"", " ", "a", " a ", "a  b", "a\tb\n", "\u00a0x\u2003y ", "\xff \xfe", "a b c", "x\u0085y", "  \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fold(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	})
}
