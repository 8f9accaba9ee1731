package layers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/strata-tool/strata/internal/hostile"
)

func hashAll(string) bool { return true }

// TestSparseEntryBounded: a sparse entry claiming 9×10^18 bytes is refused
// with a clear message instead of hashing zeros effectively forever; a
// small sparse file is still read, holes as zeros; unhashed, a sparse
// entry costs only its stored bytes.
func TestSparseEntryBounded(t *testing.T) {
	huge := hostile.SparseTar("a/huge", []byte("data"), 9e18)
	_, err := Walk(bytes.NewReader(huge), WalkOptions{Hash: hashAll}, func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "sparse file claiming 9000000000000000000 bytes") {
		t.Fatalf("err = %v, want the sparse entry refused", err)
	}
	var recs []Record
	if _, err := Walk(bytes.NewReader(huge), WalkOptions{}, func(r Record) error { recs = append(recs, r); return nil }); err != nil || len(recs) != 1 || recs[0].Size != 9e18 {
		t.Errorf("unhashed walk: %v %+v", err, recs)
	}

	small := hostile.SparseTar("a/small", []byte("data"), 1<<20)
	want := sha256.Sum256(append([]byte("data"), make([]byte, 1<<20-4)...))
	recs = nil
	if _, err := Walk(bytes.NewReader(small), WalkOptions{Hash: hashAll}, func(r Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Digest != "sha256:"+hex.EncodeToString(want[:]) {
		t.Errorf("small sparse file: %+v", recs)
	}
	// The bound is per layer, over every sparse entry it hashes.
	if _, err := Walk(bytes.NewReader(small), WalkOptions{Hash: hashAll, MaxSparse: 1 << 19}, func(Record) error { return nil }); err == nil {
		t.Error("MaxSparse not applied")
	}
}

// TestDegenerateWhiteouts: a whiteout naming no file is refused (overlay
// implementations disagree on it: delete the directory, or fail); an
// opaque marker counts by its name whatever its entry type, at the root
// too.
func TestDegenerateWhiteouts(t *testing.T) {
	for _, name := range []string{"a/.wh.", "a/.wh..", "a/.wh...", ".wh.", ".wh..", "./.wh."} {
		layer := hostile.Tar(hostile.File{Name: name})
		_, err := Walk(bytes.NewReader(layer), WalkOptions{}, func(Record) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "whiteout that names no file") {
			t.Errorf("%s: err = %v, want the layer refused", name, err)
		}
	}
	layer := hostile.Tar(hostile.File{Name: "a/.wh..wh..opq/", Dir: true}, hostile.File{Name: ".wh..wh..opq"}, hostile.File{Name: "a/.wh.b/c", Body: "x"})
	var got []string
	if _, err := Walk(bytes.NewReader(layer), WalkOptions{}, func(r Record) error {
		switch {
		case r.Opaque:
			got = append(got, "opaque "+r.Path)
		case r.Whiteout:
			got = append(got, "whiteout "+r.Path)
		default:
			got = append(got, r.Type.String()+" "+r.Path)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "; ") != "opaque a; opaque ; file a/.wh.b/c" {
		t.Errorf("records: %q", got)
	}
}
