package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-tool/strata/filelist"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/layerindex"
	"github.com/strata-tool/strata/source"
	"github.com/strata-tool/strata/waste"
)

// indexed is what package layerindex and package waste say of a registry
// image, read directly (no server, no store): what the views must show.
type indexed struct {
	im    *layerindex.Image
	rows  []filelist.Row
	waste *waste.Report
}

func indexImage(t *testing.T, ref string) indexed {
	t.Helper()
	ctx := context.Background()
	src, err := source.Open(ctx, ref, source.Options{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	im := layerindex.New(src, layerindex.Options{})
	fsys, err := filelist.FinalFS(ctx, im)
	if err != nil {
		t.Fatal(err)
	}
	every, _ := layerindex.ParsePattern("")
	r, err := waste.Analyze(im, waste.Options{Top: wasteTop})
	if err != nil {
		t.Fatal(err)
	}
	return indexed{im: im, rows: filelist.Merged(im, fsys, every), waste: r}
}

// allFiles walks the files API page by page from path, following next.
func allFiles(t *testing.T, ts *testServer, schemas *apiSchemas, path string) (rows []filelist.Row, first apiFiles) {
	t.Helper()
	for page := 0; path != ""; page++ {
		if page > 1000 {
			t.Fatal("the files API pages never end")
		}
		resp, body := ts.get(t, path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
		}
		schemas.validate(t, "Files", body)
		var f apiFiles
		decode(t, body, &f)
		if page == 0 {
			first = f
		}
		if len(f.Files) > f.PageSize {
			t.Errorf("%s: %d rows on a page of %d", path, len(f.Files), f.PageSize)
		}
		rows = append(rows, f.Files...)
		path = f.Next
	}
	return rows, first
}

func rowPaths(rows []filelist.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s %d:%d %d %s %q layer %d step %d", r.Path, r.Type, r.ModeString(), r.UID, r.GID, r.Size, r.Digest, r.Link, r.Layer, r.Step))
	}
	return out
}

// TestFilesAndWasteViews: for every builder's child image, the files API
// lists, page by page, exactly the merged file system package layerindex
// makes of the image (paths, types, modes, owners, sizes, blamed steps);
// ?path= narrows it as the pattern does; the page shows the rows; the
// waste API's report is package waste's analysis of the same layers.
func TestFilesAndWasteViews(t *testing.T) {
	const pageSize = 4
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}, FilesPageSize: pageSize, IndexStore: mustDirStore(t)})
	_, oa := ts.get(t, "/openapi.json")
	schemas := loadSchemas(t, oa)
	for builder, pair := range builtPairs(t) {
		child := pair[0]
		t.Run(builder, func(t *testing.T) {
			want := indexImage(t, child)
			if len(want.rows) <= pageSize {
				t.Fatalf("%s has %d paths: too few to page by %d", child, len(want.rows), pageSize)
			}
			got, first := allFiles(t, ts, schemas, "/v1/images/"+child+"/-/files")
			if first.Total != len(want.rows) || first.AllPaths != len(want.rows) || first.Pages != (len(want.rows)+pageSize-1)/pageSize {
				t.Errorf("total %d, allPaths %d, pages %d; the image has %d paths", first.Total, first.AllPaths, first.Pages, len(want.rows))
			}
			if g, w := strings.Join(rowPaths(got), "\n"), strings.Join(rowPaths(want.rows), "\n"); g != w {
				t.Errorf("the files API lists\n%s\nlayerindex merges\n%s", g, w)
			}
			checkPathFilter(t, ts, schemas, child, want)
			checkFilesPage(t, ts, child, want, pageSize)
			checkWasteAPI(t, ts, schemas, child, want)
		})
	}
}

func checkPathFilter(t *testing.T, ts *testServer, schemas *apiSchemas, child string, want indexed) {
	t.Helper()
	pat, _ := layerindex.ParsePattern("etc")
	var match []filelist.Row
	for _, r := range want.rows {
		if pat.Match(r.Path) {
			match = append(match, r)
		}
	}
	if len(match) == 0 || len(match) == len(want.rows) {
		t.Fatalf("the glob etc matches %d of %d paths: it cannot show narrowing", len(match), len(want.rows))
	}
	got, first := allFiles(t, ts, schemas, "/v1/images/"+child+"/-/files?path=etc")
	if first.Total != len(match) || first.AllPaths != len(want.rows) || first.Path != "etc" {
		t.Errorf("?path=etc: total %d of %d (path %q); want %d of %d", first.Total, first.AllPaths, first.Path, len(match), len(want.rows))
	}
	if g, w := strings.Join(rowPaths(got), "\n"), strings.Join(rowPaths(match), "\n"); g != w {
		t.Errorf("?path=etc lists\n%s\nwant\n%s", g, w)
	}
	if resp, body := ts.get(t, "/v1/images/"+child+"/-/files?path=%5B"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad glob: %s %s", resp.Status, body)
	}
}

func checkFilesPage(t *testing.T, ts *testServer, child string, want indexed, pageSize int) {
	t.Helper()
	resp, body := ts.get(t, "/images/"+child+"/-/files?page=2")
	if resp.StatusCode != 200 {
		t.Fatalf("files page: %s\n%s", resp.Status, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != cacheTag {
		t.Errorf("files page by tag: Cache-Control %q", cc)
	}
	text := pageText(body)
	head := fmt.Sprintf("Paths %d–%d of %d", pageSize+1, min(2*pageSize, len(want.rows)), len(want.rows))
	if !strings.Contains(text, head) {
		t.Errorf("the page does not say %q:\n%s", head, text)
	}
	for i, r := range want.rows {
		shown := strings.Contains(text, r.Path)
		if onPage := i >= pageSize && i < 2*pageSize; onPage && (!shown || !strings.Contains(text, r.ModeString())) {
			t.Errorf("page 2 does not show row %d: %s %s", i, r.ModeString(), r.Path)
		}
	}
	for _, st := range stepsOfRows(want, want.rows[pageSize:min(2*pageSize, len(want.rows))]) {
		if !strings.Contains(text, st) {
			t.Errorf("page 2 does not show the instruction %q", st)
		}
	}
	_, vp := ts.get(t, "/images/"+child)
	if !strings.Contains(string(vp), `/-/files?platform=linux%2Famd64"`) || !strings.Contains(string(vp), `/-/waste?platform=linux%2Famd64"`) {
		t.Error("the version page does not link its files and waste views")
	}
}

func stepsOfRows(want indexed, rows []filelist.Row) []string {
	var out []string
	for _, r := range rows {
		if r.Step > 0 {
			out = append(out, strings.Join(strings.Fields(want.im.Steps[r.Step-1].Instruction), " "))
		}
	}
	return out
}

func checkWasteAPI(t *testing.T, ts *testServer, schemas *apiSchemas, child string, want indexed) {
	t.Helper()
	resp, body := ts.get(t, "/v1/images/"+child+"/-/waste")
	if resp.StatusCode != 200 {
		t.Fatalf("waste API: %s\n%s", resp.Status, body)
	}
	schemas.validate(t, "Waste", body)
	var got apiWaste
	decode(t, body, &got)
	if got.Report == nil || got.SHA != want.im.Image.ManifestDigest {
		t.Fatalf("waste API: no report, or SHA %s for %s", got.SHA, want.im.Image.ManifestDigest)
	}
	// The base comes from the server's lineage; the rest of the report
	// must be the analysis itself.
	want.waste.Rebase(got.Base)
	g, _ := json.Marshal(got.Report)
	w, _ := json.Marshal(want.waste)
	if string(g) != string(w) {
		t.Errorf("the waste API says\n%s\npackage waste says\n%s", g, w)
	}
	resp, body = ts.get(t, "/images/"+child+"/-/waste")
	text := pageText(body)
	eff := fmt.Sprintf("%.2f %%", 100*want.waste.Efficiency)
	if resp.StatusCode != 200 || !strings.Contains(text, eff) || !strings.Contains(text, waste.Thousands(want.waste.WastedBytes)+" bytes") {
		t.Errorf("the waste page (%s) does not show efficiency %s and %d wasted bytes:\n%s", resp.Status, eff, want.waste.WastedBytes, text)
	}
}

func mustDirStore(t *testing.T) layerindex.Store {
	t.Helper()
	s, err := layerindex.NewDirStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLayerLimits: an image whose layers exceed MaxLayerBytes is refused
// with 413 and says why, before any layer is read; a registry the guard
// refuses is 403 for these views too; when every layer job slot stays
// taken, a request gets 503 with Retry-After once UpstreamTimeout
// passes, and succeeds once it frees; views by digest are cached as long
// as other views by digest.
func TestLayerLimits(t *testing.T) {
	child := builtPairs(t)["buildkit"][0]
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}, MaxLayerBytes: 100, IndexStore: mustDirStore(t)})
	for _, p := range []string{"/images/" + child + "/-/files", "/v1/images/" + child + "/-/waste"} {
		resp, body := ts.get(t, p)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(pageText(body), "over this server's limit") {
			t.Errorf("GET %s: %s\n%s", p, resp.Status, body)
		}
	}
	if n := ts.jobs.views.Len(); n != 0 {
		t.Errorf("%d layer views made for a refused image", n)
	}

	// Without --allow-registry the registry's loopback address is refused
	// before any connection, layers or not.
	guarded := newTestServer(t, Config{IndexStore: mustDirStore(t)})
	for _, p := range []string{"/images/" + child + "/-/waste", "/v1/images/" + child + "/-/files"} {
		if resp, body := guarded.get(t, p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with the registry not allowed: %s\n%s", p, resp.Status, body)
		}
	}

	busy := newTestServer(t, Config{AllowRegistries: []string{registry(t)}, LayerJobs: 1, UpstreamTimeout: 3 * time.Second, IndexStore: mustDirStore(t)})
	busy.jobs.slots <- struct{}{} // a job that never ends holds the only slot
	resp, body := busy.get(t, "/v1/images/"+child+"/-/files")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with no free slot: %s (Retry-After %q)\n%s", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	<-busy.jobs.slots
	if resp, body := busy.get(t, "/v1/images/"+child+"/-/files"); resp.StatusCode != 200 {
		t.Errorf("with the slot free again: %s\n%s", resp.Status, body)
	}
	var f apiFiles
	_, body = busy.get(t, "/v1/images/"+child+"/-/files")
	decode(t, body, &f)
	pinned := child[:strings.LastIndex(child, ":")] + "@" + f.SHA
	for _, p := range []string{"/images/" + pinned + "/-/files", "/v1/images/" + pinned + "/-/waste"} {
		if resp, _ := busy.get(t, p); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != cacheDigest {
			t.Errorf("GET %s: %s, Cache-Control %q", p, resp.Status, resp.Header.Get("Cache-Control"))
		}
	}
}

// TestFilesChanges: ?changes=1 lists what every layer changed exactly as
// filelist.Changes (strata files --changes) does; ?layer=N that layer's
// changes only; a layer the image lacks is 400.
func TestFilesChanges(t *testing.T) {
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}, FilesPageSize: 50, IndexStore: mustDirStore(t)})
	_, oa := ts.get(t, "/openapi.json")
	schemas := loadSchemas(t, oa)
	child := builtPairs(t)["buildkit"][0]
	want := indexImage(t, child)
	groups, err := filelist.Changes(context.Background(), want.im, -1, everyPath)
	if err != nil {
		t.Fatal(err)
	}
	all := filelist.Rows(groups)
	got, first := allFiles(t, ts, schemas, "/v1/images/"+child+"/-/files?changes=1")
	if !first.Changes || first.Total != len(all) {
		t.Errorf("changes %v, total %d; filelist.Changes has %d rows", first.Changes, first.Total, len(all))
	}
	if g, w := strings.Join(changeLines(got), "\n"), strings.Join(changeLines(all), "\n"); g != w {
		t.Errorf("?changes=1 lists\n%s\nfilelist.Changes\n%s", g, w)
	}
	last := len(groups) - 1
	if len(groups[last].Rows) == 0 {
		t.Fatalf("layer %d of %s changed nothing: no narrowing to show", last, child)
	}
	got, first = allFiles(t, ts, schemas, fmt.Sprintf("/v1/images/%s/-/files?layer=%d", child, last))
	if first.Layer == nil || *first.Layer != last {
		t.Errorf("?layer=%d answers layer %v", last, first.Layer)
	}
	if g, w := strings.Join(changeLines(got), "\n"), strings.Join(changeLines(groups[last].Rows), "\n"); g != w {
		t.Errorf("?layer=%d lists\n%s\nwant\n%s", last, g, w)
	}
	resp, body := ts.get(t, fmt.Sprintf("/images/%s/-/files?layer=%d", child, last))
	text := pageText(body)
	if resp.StatusCode != 200 || !strings.Contains(text, fmt.Sprintf("Changes of layer %d of", last)) || !strings.Contains(text, groups[last].Rows[0].Change) {
		t.Errorf("the layer page (%s) does not show layer %d's changes:\n%s", resp.Status, last, text)
	}
	if resp, body := ts.get(t, fmt.Sprintf("/v1/images/%s/-/files?layer=%d", child, len(want.im.Image.Layers))); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a layer past the last: %s %s", resp.Status, body)
	}
	// ?step=N names the same layer by the step that made it, as strata
	// layers numbers them; a step that made no layer is refused.
	lastStep, emptyStep := 0, 0
	for _, st := range want.im.Steps {
		switch {
		case st.Layer != nil && *st.Layer == last:
			lastStep = st.Step
		case st.Layer == nil && emptyStep == 0:
			emptyStep = st.Step
		}
	}
	got, first = allFiles(t, ts, schemas, fmt.Sprintf("/v1/images/%s/-/files?step=%d", child, lastStep))
	if first.Layer == nil || *first.Layer != last || strings.Join(changeLines(got), "\n") != strings.Join(changeLines(groups[last].Rows), "\n") {
		t.Errorf("?step=%d answers layer %v, not layer %d's changes", lastStep, first.Layer, last)
	}
	if emptyStep == 0 {
		t.Fatalf("%s has no step without a layer", child)
	}
	for _, q := range []string{fmt.Sprintf("step=%d", emptyStep), "step=0", fmt.Sprintf("step=%d&layer=0", lastStep)} {
		if resp, body := ts.get(t, "/v1/images/"+child+"/-/files?"+q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %s %s", q, resp.Status, body)
		}
	}
	if resp, body := ts.get(t, "/v1/images/"+child+"/-/files?page=99999999999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a page past the last: %s %s", resp.Status, body)
	}
}

func changeLines(rows []filelist.Row) []string {
	var out []string
	for i, l := range rowPaths(rows) {
		out = append(out, rows[i].Change+" "+l)
	}
	return out
}
