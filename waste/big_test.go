package waste

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
)

// bigWaste computes, from ../shared/bench/big/Dockerfile alone, what BIG's
// last RUN (step 8) wastes: the copies it deletes, rewrites and chmods.
// Sizes follow the Dockerfile's shell loops; nothing here comes from strata.
func bigWaste() (deleted, overwritten, chmodded int64, deletedFiles, overwrittenFiles, chmoddedFiles int) {
	const big = 46137344 // head -c 46137344, dd bs=1M count=44
	// rm -rf small1/d0..d9: file f$i of dir d$d holds n%16+1 lines.
	for d := 0; d < 10; d++ {
		for i := 0; i < 500; i++ {
			n := d*500 + i
			for j := 0; j <= n%16; j++ {
				deleted += int64(len(fmt.Sprintf("line %d of file %d in dir %d: the quick brown fox jumps over the lazy dog\n", j, n, d)))
			}
			deletedFiles++
		}
	}
	deleted += 2 * big // rm -f rand/r0.bin rand/r1.bin
	deletedFiles += 2
	// text/rep0.log and rep1.log rewritten; medium/t0..t499 appended to.
	overwritten = 2 * big
	for i := 0; i < 500; i++ {
		overwritten += int64((4 + i%29) * 1024)
	}
	overwrittenFiles = 502
	// chmod 600 src/pkg0 and pkg1 m0..m499.go: same bytes, new copy.
	for p := 0; p < 2; p++ {
		for i := 0; i < 500; i++ {
			n := p*500 + i
			s := len(fmt.Sprintf("package pkg%d\n\n", p))
			for k := 0; k < n%12; k++ {
				s += len(fmt.Sprintf("func F%d_%d(x int) int { return x*%d + %d } // generated\n", n, k, k, n))
			}
			chmodded += int64(s)
			chmoddedFiles++
		}
	}
	return
}

// TestBIG: the waste of the benchmark image, whose true figure
// (../shared/bench/README.md: 197,151,959 B, efficiency 79.54 %) dive
// overstates as 295,754,060 B by counting both copies of what it rewrites.
func TestBIG(t *testing.T) {
	tar := testenv.BIG(t)
	del, over, chm, nDel, nOver, nChm := bigWaste()
	if got := del + over + chm; got != 197151959 {
		t.Fatalf("hand computation from the Dockerfile gives %d, the shared README says 197151959", got)
	}
	ctx := context.Background()
	src, err := source.Open(ctx, tar, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	im := layerindex.New(src, layerindex.Options{})
	if err := im.Load(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(im, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.WastedBytes != 197151959 {
		t.Errorf("wasted %d bytes, want 197151959", r.WastedBytes)
	}
	if e := math.Round(r.Efficiency*10000) / 100; e != 79.54 {
		t.Errorf("efficiency %.4f, want 79.54 %%", r.Efficiency*100)
	}
	if r.FinalBytes+r.WastedBytes != r.ContentBytes {
		t.Errorf("final %d + wasted %d != content %d", r.FinalBytes, r.WastedBytes, r.ContentBytes)
	}
	want := map[Cause]CauseTotal{
		Deleted:      {Cause: Deleted, Bytes: del, Files: nDel},
		Overwritten:  {Cause: Overwritten, Bytes: over, Files: nOver},
		MetadataOnly: {Cause: MetadataOnly, Bytes: chm, Files: nChm},
	}
	if len(r.ByCause) != len(want) {
		t.Errorf("by cause: %+v, want %+v", r.ByCause, want)
	}
	for _, c := range r.ByCause {
		w := want[c.Cause]
		if c.Bytes != w.Bytes || c.Files != w.Files {
			t.Errorf("%s: %d bytes in %d files, want %d in %d", c.Cause, c.Bytes, c.Files, w.Bytes, w.Files)
		}
		// A docker save holds its layers uncompressed: stored = tar bytes.
		if c.CompressedBytes != c.Bytes {
			t.Errorf("%s: compressed estimate %d for an uncompressed archive, want %d", c.Cause, c.CompressedBytes, c.Bytes)
		}
	}
	// Every finding is step 8's (the last RUN), shipped by steps 3–7.
	for _, f := range r.Findings {
		if f.Step != 8 || f.Layer != 7 || f.Fix == "" {
			t.Errorf("finding %+v: want step 8 (layer 7) with a fix", f)
		}
	}
	// FROM scratch (a COPY starts the image): nothing is the base's.
	if r.UserWastedBytes != r.WastedBytes {
		t.Errorf("user waste %d, want all %d (no base layers)", r.UserWastedBytes, r.WastedBytes)
	}
	checkAgainstMerge(t, im, r)
	// The lean path gives the same report, and so does what the verb runs
	// (fingerprints only, through a store): the same JSON to the byte.
	lean, err := AnalyzeStream(ctx, layerindex.New(src, layerindex.Options{}), Options{})
	if err != nil || lean.WastedBytes != r.WastedBytes || lean.FinalBytes != r.FinalBytes || len(lean.Findings) != len(r.Findings) {
		t.Errorf("streamed analysis: %v, wasted %d final %d", err, lean.WastedBytes, lean.FinalBytes)
	}
	store, err := layerindex.NewDirStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := AnalyzeStream(ctx, layerindex.New(src, layerindex.Options{Store: store, FingerprintOnly: true}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := jsonOf(t, fast), jsonOf(t, r); a != b {
		t.Errorf("fingerprinted analysis differs:\n%s\nwant\n%s", a, b)
	}
	if len(r.Top) == 0 || r.Top[0].Bytes != 46137344 {
		t.Errorf("top offender %+v, want a 44 MiB file first", r.Top)
	}
}

func jsonOf(t *testing.T, r *Report) string {
	t.Helper()
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
