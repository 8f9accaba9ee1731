package waste

import (
	"strings"
	"testing"

	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
)

// Layers a test generates: odd and hostile shapes no builder here writes
// (a layer listing a path twice, a file below a symlink, a whiteout after
// the layer's own entry), each with the overlay answer worked out by hand.

func file(p string, size int64, digest string) layerindex.Entry {
	return layerindex.Entry{Record: layers.Record{Entry: layers.Entry{Path: p, Type: layers.TypeFile, Size: size, Mode: 0o644,
		Digest: "sha256:" + strings.Repeat(digest, 64)}}}
}

func dir(p string) layerindex.Entry {
	return layerindex.Entry{Record: layers.Record{Entry: layers.Entry{Path: p, Type: layers.TypeDir, Mode: 0o755}}}
}

func link(p, target string, typ layers.Type) layerindex.Entry {
	return layerindex.Entry{Record: layers.Record{Entry: layers.Entry{Path: p, Type: typ, Link: target}}}
}

func whiteout(p string) layerindex.Entry {
	return layerindex.Entry{Record: layers.Record{Entry: layers.Entry{Path: p}, Whiteout: true}}
}

func opaque(p string) layerindex.Entry {
	return layerindex.Entry{Record: layers.Record{Entry: layers.Entry{Path: p}, Opaque: true}}
}

func TestEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]layerindex.Entry
		final  int64
		causes map[Cause]int64
	}{
		{"a layer's whiteout spares its own entry, wherever it sits",
			[][]layerindex.Entry{{file("a", 10, "1")}, {file("a", 20, "2"), whiteout("a")}},
			20, map[Cause]int64{Overwritten: 10}},
		{"opaque directory hides what lies below only",
			[][]layerindex.Entry{{dir("d"), file("d/x", 5, "1"), file("d/y", 7, "2")}, {dir("d"), opaque("d"), file("d/z", 3, "3")}},
			3, map[Cause]int64{Deleted: 12}},
		{"a file over a directory hides the directory's files",
			[][]layerindex.Entry{{dir("d"), file("d/x", 5, "1")}, {file("d", 4, "2")}},
			4, map[Cause]int64{Replaced: 5}},
		{"a layer's own paths below the file it puts over a directory are unreachable",
			[][]layerindex.Entry{{dir("p"), file("p/a", 3, "1")}, {file("p/x", 2, "2"), file("p", 5, "3")}},
			5, map[Cause]int64{Replaced: 5}},
		{"a path listed twice in one layer",
			[][]layerindex.Entry{{file("a", 5, "1"), file("a", 6, "2")}},
			6, map[Cause]int64{DuplicateEntry: 5}},
		{"a hardlink keeps its deleted target's bytes visible",
			[][]layerindex.Entry{{file("a", 9, "1"), link("b", "a", layers.TypeHardlink)}, {whiteout("a")}},
			9, map[Cause]int64{}},
		{"a file below a symlink is unreachable",
			[][]layerindex.Entry{{link("s", "/etc", layers.TypeSymlink), file("s/f", 4, "1"), file("g", 2, "2")}},
			2, map[Cause]int64{Replaced: 4}},
		{"same bytes again is metadata-only, other bytes overwrite",
			[][]layerindex.Entry{{file("a", 8, "1"), file("b", 8, "2")}, {file("a", 8, "1"), file("b", 8, "3")}},
			16, map[Cause]int64{MetadataOnly: 8, Overwritten: 8}},
		{"a whiteout of a directory deletes every copy below, from every layer",
			[][]layerindex.Entry{{dir("d"), file("d/x", 5, "1")}, {file("d/y", 6, "2"), file("d/x", 7, "3")}, {whiteout("d"), file("e", 1, "4")}},
			1, map[Cause]int64{Overwritten: 5, Deleted: 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAnalyzer()
			for i, es := range tt.layers {
				if err := a.Add(Layer{Index: &layerindex.Index{Entries: es, TarSize: -1}, Step: i + 1}); err != nil {
					t.Fatal(err)
				}
			}
			r := a.Report(Options{})
			if r.FinalBytes != tt.final || r.WastedBytes != r.ContentBytes-tt.final {
				t.Errorf("final %d, wasted %d of %d; want final %d", r.FinalBytes, r.WastedBytes, r.ContentBytes, tt.final)
			}
			got := map[Cause]int64{}
			for _, c := range r.ByCause {
				got[c.Cause] = c.Bytes
			}
			if len(got) != len(tt.causes) {
				t.Errorf("causes %v, want %v", got, tt.causes)
			}
			for c, n := range tt.causes {
				if got[c] != n {
					t.Errorf("%s: %d bytes, want %d", c, got[c], n)
				}
			}
		})
	}
}
