package waste

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/layers"
	"github.com/strata-tool/strata/source"
)

// The figures of testdata/waste/app, by hand from the Dockerfiles' sizes.
// Base (layers 0–3): busybox, its links, /base/{tmp,keep,gone}.bin of
// 40000, 10000 and 6000 bytes, then tmp.bin deleted (the base's own waste).
// App layer 4 ships deleted.bin 100000, over.txt 50000, chmod.bin 30000,
// dup1/dup2.bin 20000 each (one content), apt lists 7000, pip 3000, npm
// 8000, /tmp/junk/{a,b} 4000+5000; layer 5 writes over.txt 60000, chmod.bin
// again (30000, same bytes) and keep.bin again (10000, same bytes) and
// deletes deleted.bin, /tmp/junk, /root/.npm and /base/gone.bin.
const (
	baseWaste    = 40000
	appDeleted   = 100000 + 4000 + 5000 + 8000 + 6000
	appOverwrite = 50000
	appChmod     = 30000 + 10000
	appLayer4    = 100000 + 50000 + 30000 + 20000 + 20000 + 7000 + 3000 + 8000 + 4000 + 5000
	appLayer5    = 60000 + 30000 + 10000
)

func TestBuiltImages(t *testing.T) {
	bb, err := os.Stat("/bin/busybox")
	if err != nil {
		t.Skip("no /bin/busybox")
	}
	imgs := testenv.WasteImages(t)
	if len(imgs) == 0 {
		t.Fatal("no waste test images built")
	}
	for _, w := range imgs {
		t.Run(w.Builder, func(t *testing.T) {
			ctx := context.Background()
			src, err := source.Open(ctx, w.App, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			im := layerindex.New(src, layerindex.Options{})
			if err := im.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(im.Image.Layers); n != 6 {
				t.Fatalf("%d layers, want 6 (4 base + 2)", n)
			}
			r, err := Analyze(im, Options{Base: Base{Layers: 4, Known: true}})
			if err != nil {
				t.Fatal(err)
			}
			checkBuilt(t, im, r, bb.Size())
			checkAgainstMerge(t, im, r)
			// The verb's way: fingerprints only, streamed through a store;
			// the duplicate group is named by reading one copy again.
			fast := fingerprinted(t, ctx, src)
			checkBuilt(t, im, fast, bb.Size())
			if g, want := fast.Avoidable.Duplicates.Top, r.Avoidable.Duplicates.Top; len(g) != 1 || len(want) != 1 || want[0].Digest == "" || g[0].Digest != want[0].Digest {
				t.Errorf("fingerprinted duplicates %+v, want %+v", g, want)
			}
		})
	}
}

// fingerprinted analyses src as the waste verb does: layers read once with
// fingerprints only (no sha256 per file) into a store, then streamed.
func fingerprinted(t *testing.T, ctx context.Context, src source.Source) *Report {
	t.Helper()
	store, err := layerindex.NewDirStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := AnalyzeStream(ctx, layerindex.New(src, layerindex.Options{Store: store, FingerprintOnly: true}), Options{Base: Base{Layers: 4, Known: true}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkBuilt(t *testing.T, im *layerindex.Image, r *Report, busybox int64) {
	t.Helper()
	content := busybox + 56000 + appLayer4 + appLayer5
	wasted := int64(baseWaste + appDeleted + appOverwrite + appChmod)
	if r.ContentBytes != content || r.WastedBytes != wasted || r.FinalBytes != content-wasted {
		t.Errorf("content %d, wasted %d, final %d; want %d, %d, %d", r.ContentBytes, r.WastedBytes, r.FinalBytes, content, wasted, content-wasted)
	}
	if want := float64(content-wasted) / float64(content); math.Abs(r.Efficiency-want) > 1e-12 {
		t.Errorf("efficiency %v, want %v", r.Efficiency, want)
	}
	// The base's own deletion is not the user's; the app's chmod of a base
	// file and its rm of one are.
	userWaste := int64(appDeleted + appOverwrite + appChmod)
	if r.UserWastedBytes != userWaste || r.UserContentBytes != appLayer4+appLayer5 {
		t.Errorf("user waste %d of %d, want %d of %d", r.UserWastedBytes, r.UserContentBytes, userWaste, appLayer4+appLayer5)
	}
	if want := 100 * float64(userWaste) / float64(appLayer4+appLayer5); math.Abs(r.UserWastedPercent-want) > 1e-9 {
		t.Errorf("user wasted percent %v, want %v", r.UserWastedPercent, want)
	}
	want := map[Cause][2]int64{Deleted: {baseWaste + appDeleted, 6}, Overwritten: {appOverwrite, 1}, MetadataOnly: {appChmod, 2}}
	if len(r.ByCause) != len(want) {
		t.Errorf("by cause %+v, want %v", r.ByCause, want)
	}
	for _, c := range r.ByCause {
		if w := want[c.Cause]; c.Bytes != w[0] || int64(c.Files) != w[1] {
			t.Errorf("%s: %d bytes in %d files, want %d in %d", c.Cause, c.Bytes, c.Files, w[0], w[1])
		}
	}
	step5, _ := im.Step(5)
	step3, _ := im.Step(3)
	found := map[string]Finding{}
	for _, f := range r.Findings {
		if f.Layer == 5 {
			found[string(f.Cause)+"/"+f.Cache] = f
		}
		if f.Fix == "" {
			t.Errorf("finding without a fix: %+v", f)
		}
	}
	checkFinding(t, found["deleted/"], Finding{Layer: 5, Step: step5.Step, Bytes: 100000 + 9000 + 6000, Files: 4})
	checkFinding(t, found["deleted/npm"], Finding{Layer: 5, Step: step5.Step, Bytes: 8000, Files: 1})
	checkFinding(t, found["metadata-only/"], Finding{Layer: 5, Step: step5.Step, Bytes: appChmod, Files: 2})
	checkFinding(t, found["overwritten/"], Finding{Layer: 5, Step: step5.Step, Bytes: appOverwrite, Files: 1})
	// The base's deletion is blamed on the base's own step.
	var baseF *Finding
	for i, f := range r.Findings {
		if f.Layer == 3 {
			baseF = &r.Findings[i]
		}
	}
	if baseF == nil || baseF.Step != step3.Step || baseF.Bytes != baseWaste || baseF.Cause != Deleted {
		t.Errorf("base finding %+v, want step %d deleting %d", baseF, step3.Step, baseWaste)
	}
	av := r.Avoidable
	if av.Duplicates.Bytes != 20000 || av.Duplicates.Groups != 1 || len(av.Duplicates.Top) != 1 || len(av.Duplicates.Top[0].Paths) != 2 {
		t.Errorf("duplicates %+v, want one group of two 20000-byte copies", av.Duplicates)
	}
	caches := map[string]int64{}
	for _, c := range av.Caches {
		caches[c.Cache] = c.Bytes
	}
	if len(caches) != 2 || caches["apt-lists"] != 7000 || caches["pip"] != 3000 || av.Bytes != 30000 {
		t.Errorf("caches %v (avoidable %d), want apt-lists 7000 and pip 3000 (30000 in all)", caches, av.Bytes)
	}
}

func checkFinding(t *testing.T, got, want Finding) {
	t.Helper()
	if got.Layer != want.Layer || got.Step != want.Step || got.Bytes != want.Bytes || got.Files != want.Files {
		t.Errorf("finding %s/%s: layer %d step %d, %d bytes in %d files; want layer %d step %d, %d in %d",
			got.Cause, got.Cache, got.Layer, got.Step, got.Bytes, got.Files, want.Layer, want.Step, want.Bytes, want.Files)
	}
}

// checkAgainstMerge: the analysis' final bytes are the regular files of
// layerindex's merged file system (itself checked against docker export),
// and its shipped bytes every regular file of every layer.
func checkAgainstMerge(t *testing.T, im *layerindex.Image, r *Report) {
	t.Helper()
	fsys, err := im.Merge(len(im.Image.Layers))
	if err != nil {
		t.Fatal(err)
	}
	var final, shipped int64
	for _, f := range fsys.Files() {
		if f.Type == layers.TypeFile {
			final += f.Size
		}
	}
	for i := range im.Image.Layers {
		for _, e := range im.Layer(i).Entries {
			if e.Type == layers.TypeFile && !e.Whiteout && !e.Opaque {
				shipped += e.Size
			}
		}
	}
	if r.FinalBytes != final || r.ContentBytes != shipped {
		t.Errorf("final %d, shipped %d; the merged file system has %d, the layers %d", r.FinalBytes, r.ContentBytes, final, shipped)
	}
}
