package image

import (
	"go/build"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the model pure: package image may import
// the standard library only, so every other package can depend on it
// without pulling a transport, a database or a parser along (the same
// guard as go-containerregistry's depcheck_test.go).
func TestStandardLibraryOnly(t *testing.T) {
	pkg, err := build.Default.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("package image lists no imports: the check would pass vacuously")
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") {
			t.Errorf("package image imports %s: only the standard library is allowed", imp)
		}
	}
}
