package layerindex

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/ocitest"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// TestLeanEncodingIsTheSame: a lean index marshals to the very bytes of
// the full one, reads back lean from them, and Each yields what Entries
// holds.
func TestLeanEncodingIsTheSame(t *testing.T) {
	full := sampleIndex(t)
	lean := full.lean()
	if lean.Entries != nil || lean.Checkpoints != nil || lean.Len() != len(full.Entries) {
		t.Fatalf("lean index keeps %d entries, %d checkpoints, Len %d", len(lean.Entries), len(lean.Checkpoints), lean.Len())
	}
	b, _ := Marshal(full)
	withCP := *lean
	withCP.Checkpoints = full.Checkpoints
	lb, _ := Marshal(&withCP)
	if !bytes.Equal(b, lb) {
		t.Fatal("the lean index marshals differently")
	}
	back, err := unmarshalLean(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := entriesOf(t, back); !reflect.DeepEqual(got, normalise(full).Entries) {
		t.Fatalf("lean entries differ:\n got %+v\nwant %+v", got[len(got)-3:], full.Entries[len(full.Entries)-3:])
	}
	built, err := indexBlob(bytes.NewReader(ocitest.Gzip(t, ocitest.Tar(t, testFiles()...))), image.Layer{Size: -1}, 256<<10, walkSpec{lean: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := indexBlob(bytes.NewReader(ocitest.Gzip(t, ocitest.Tar(t, testFiles()...))), image.Layer{Size: -1}, 256<<10, walkSpec{lean: false})
	if got := entriesOf(t, built); !reflect.DeepEqual(got, normalise(plain).Entries) || len(built.Checkpoints) != len(plain.Checkpoints) {
		t.Fatal("an index built lean lists other entries")
	}
	for n := 0; n < len(b); n += 1 + len(b)/100 {
		if _, err := unmarshalLean(b[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: read", n)
		}
	}
}

func entriesOf(t *testing.T, ix *Index) []Entry {
	t.Helper()
	var out []Entry
	if err := ix.Each(func(_ int, e *Entry) bool { out = append(out, *e); return true }); err != nil {
		t.Fatal(err)
	}
	return normalise(&Index{Entries: out}).Entries
}

// TestStreamMatchesLoad: Stream hands over, layer by layer and in order,
// the entries Load keeps — building lean, then from the cache.
func TestStreamMatchesLoad(t *testing.T) {
	var refs []string
	for _, img := range testenv.BuiltImages(t) {
		if img.Name == "single" && (img.Builder == "buildkit" || img.Builder == "classic") {
			refs = append(refs, img.Refs["registry"], img.Refs["docker-archive"])
		}
	}
	if len(refs) == 0 {
		t.Fatal("no single image built")
	}
	ctx := context.Background()
	for _, ref := range refs {
		src, err := source.Open(ctx, ref, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := New(src, Options{})
		if err := want.Load(ctx); err != nil {
			t.Fatal(err)
		}
		store, _ := NewDirStore(t.TempDir(), 0)
		for run, how := range []How{HowBlob, HowCache} {
			im := New(src, Options{Store: store, Parallel: 2})
			next := 0
			err := im.Stream(ctx, func(i int, ix *Index) error {
				if i != next || ix.Entries != nil {
					t.Errorf("%s run %d: layer %d handed over after %d, entries materialized: %v", ref, run, i, next, ix.Entries != nil)
				}
				next++
				if !reflect.DeepEqual(entriesOf(t, ix), normalise(want.Layer(i)).Entries) {
					t.Errorf("%s run %d: layer %d lists other entries", ref, run, i)
				}
				if h := im.How(i); h != how && !(run == 0 && h == HowStream) {
					t.Errorf("%s run %d: layer %d indexed by %s, want %s", ref, run, i, h, how)
				}
				if im.Layer(i) != nil {
					t.Errorf("%s: Stream kept layer %d", ref, i)
				}
				return nil
			})
			if err != nil || next != len(src.Image().Layers) {
				t.Fatalf("%s run %d: %v after %d layers", ref, run, err, next)
			}
		}
		src.Close()
	}
}
