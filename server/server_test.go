package server

import (
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/image"
	"github.com/strata-tool/strata/internal/testenv"
	"github.com/strata-tool/strata/source"
)

// builtPairs are the child images the real builders built FROM their own
// parent, with that parent, by builder.
func builtPairs(t *testing.T) map[string][2]string {
	t.Helper()
	pairs := map[string][2]string{}
	parents := map[string]string{}
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == "parent" && b.Refs["registry"] != "" {
			parents[b.Builder] = b.Refs["registry"]
		}
	}
	for _, b := range testenv.BuiltImages(t) {
		if b.Name == "child" && b.Refs["registry"] != "" && parents[b.Builder] != "" {
			pairs[b.Builder] = [2]string{b.Refs["registry"], parents[b.Builder]}
		}
	}
	if len(pairs) == 0 {
		t.Fatal("no child/parent image pairs among the built test images")
	}
	return pairs
}

// TestVersionPagesAPIBadges: for every builder's child image, the page,
// the API document (valid against the served OpenAPI description) and
// every badge say what the image is, checked against the image as
// package source reads it; the parent, catalogued, is named as the base.
func TestVersionPagesAPIBadges(t *testing.T) {
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}})
	_, oa := ts.get(t, "/openapi.json")
	schemas := loadSchemas(t, oa)
	for builder, pair := range builtPairs(t) {
		child, parent := pair[0], pair[1]
		t.Run(builder, func(t *testing.T) {
			ts.catalogue(t, parent)
			src, err := source.Open(context.Background(), child, source.Options{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}})
			if err != nil {
				t.Fatal(err)
			}
			img := src.Image()
			src.Close()
			checkVersionAPI(t, ts, schemas, child, parent, img)
			checkVersionPage(t, ts, child, img)
			checkBadges(t, ts, schemas, child, img)
		})
	}
}

func checkVersionAPI(t *testing.T, ts *testServer, schemas *apiSchemas, child, parent string, img *image.Image) {
	resp, body := ts.get(t, "/v1/images/"+child)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/images/%s: %s %s\n%s", child, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	schemas.validate(t, "Version", body)
	var v apiVersion
	decode(t, body, &v)
	if v.SHA != img.ManifestDigest || v.LayerCount != len(img.Layers) || v.Labels["com.example.role"] != "child" {
		t.Errorf("API says SHA %s, %d layers, role %q; the image is %s with %d layers", v.SHA, v.LayerCount, v.Labels["com.example.role"], img.ManifestDigest, len(img.Layers))
	}
	if len(v.Layers) != len(img.History) {
		t.Errorf("%d Layers for %d history entries", len(v.Layers), len(img.History))
	}
	for i, l := range v.Layers {
		if l.Step != i+1 {
			t.Errorf("Layers[%d].step = %d", i, l.Step)
		}
	}
	if v.From.Kind != "base" || !strings.HasSuffix(parent, strings.TrimPrefix(v.From.Name, "127.0.0.1:5000")) {
		t.Errorf("base: %+v, want %s (catalogued)", v.From, parent)
	}
	for _, l := range v.LabelDetails {
		if l.Key == "com.example.role" && l.Origin != originOwn && v.From.Entries > 0 {
			t.Errorf("com.example.role, set by the child's own LABEL step, is %q", l.Origin)
		}
	}
	if !strings.Contains(v.Dockerfile, "echo child > /etc/strata/role") {
		t.Errorf("Dockerfile lacks the child's RUN:\n%s", v.Dockerfile)
	}
	// A second request is the cached rendering; If-None-Match gets 304.
	resp2, _ := ts.get(t, "/v1/images/"+child, "If-None-Match", resp.Header.Get("ETag"))
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s", resp2.Status)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != cacheTag {
		t.Errorf("a tag's Cache-Control is %q", cc)
	}
	pinned := child[:strings.LastIndex(child, ":")] + "@" + img.ManifestDigest
	resp3, body3 := ts.get(t, "/v1/images/"+pinned)
	if resp3.StatusCode != 200 || resp3.Header.Get("Cache-Control") != cacheDigest {
		t.Errorf("by digest: %s, Cache-Control %q", resp3.Status, resp3.Header.Get("Cache-Control"))
	}
	schemas.validate(t, "Version", body3)
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// pageText is a page's text as a reader sees it (tags dropped, entities
// decoded).
func pageText(b []byte) string {
	return html.UnescapeString(tagRE.ReplaceAllString(string(b), ""))
}

func checkVersionPage(t *testing.T, ts *testServer, child string, img *image.Image) {
	resp, body := ts.get(t, "/images/"+child)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /images/%s: %s\n%s", child, resp.Status, body)
	}
	if resp.Header.Get("Content-Security-Policy") != csp {
		t.Errorf("CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
	text := pageText(body)
	for _, want := range []string{img.ManifestDigest, "echo child > /etc/strata/role", "com.example.role", "Set by this image",
		fmt.Sprintf("in %d layer%s", len(img.Layers), plural(len(img.Layers))), "Base ancestry", "Dockerfile"} {
		if !strings.Contains(text, want) {
			t.Errorf("page of %s lacks %q", child, want)
		}
	}
	if strings.Contains(string(body), "<script") {
		t.Errorf("a page has a script element")
	}
}

func checkBadges(t *testing.T, ts *testServer, schemas *apiSchemas, child string, img *image.Image) {
	want := map[string]string{"image": fmt.Sprintf("%d layer%s", len(img.Layers), plural(len(img.Layers))), "license": "not given", "commit": "not given"}
	for _, kind := range badgeKinds {
		resp, body := ts.get(t, "/badges/"+kind+"/"+child+".svg")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || resp.Header.Get("ETag") == "" {
			t.Errorf("%s badge: %s %q", kind, resp.Status, resp.Header.Get("Content-Type"))
			continue
		}
		var svg struct {
			Width int      `xml:"width,attr"`
			Texts []string `xml:"g>text"`
		}
		if err := xml.Unmarshal(body, &svg); err != nil || svg.Width < 40 || len(svg.Texts) != 4 {
			t.Errorf("%s badge: %v, width %d, %d texts", kind, err, svg.Width, len(svg.Texts))
		}
		resp, body = ts.get(t, "/badges/"+kind+"/"+child+".json")
		if resp.StatusCode != 200 {
			t.Errorf("%s endpoint: %s", kind, resp.Status)
			continue
		}
		schemas.validate(t, "BadgeEndpoint", body)
		var e struct{ Label, Message string }
		decode(t, body, &e)
		if w, ok := want[kind]; ok && e.Message != w {
			t.Errorf("%s badge says %q, want %q", kind, e.Message, w)
		}
		if kind == "base" && !strings.Contains(e.Message, "strata-test/parent") {
			t.Errorf("base badge says %q", e.Message)
		}
		if len(svg.Texts) == 4 && svg.Texts[3] != e.Message {
			t.Errorf("%s: SVG says %q, JSON %q", kind, svg.Texts[3], e.Message)
		}
	}
	// By digest, a badge never changes.
	pinned := child[:strings.LastIndex(child, ":")] + "@" + img.ManifestDigest
	if resp, _ := ts.get(t, "/badges/image/"+pinned+".svg"); resp.Header.Get("Cache-Control") != cacheImmutable {
		t.Errorf("badge by digest: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

// TestRepositoryDiffCatalog: the repository page and its JSON list the
// registry's tags; the diff of child and parent says how many layers
// they share; the catalog lists what was catalogued; missing things are
// 404 with the Error shape.
func TestRepositoryDiffCatalog(t *testing.T) {
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}})
	_, oa := ts.get(t, "/openapi.json")
	schemas := loadSchemas(t, oa)
	pair := builtPairs(t)["buildkit"]
	if pair[0] == "" {
		t.Fatal("no buildkit child image")
	}
	child, parent := pair[0], pair[1]
	repo := child[:strings.LastIndex(child, ":")]
	tag := child[strings.LastIndex(child, ":")+1:]

	resp, body := ts.get(t, "/v1/images/"+repo)
	if resp.StatusCode != 200 {
		t.Fatalf("repository API: %s %s", resp.Status, body)
	}
	schemas.validate(t, "Image", body)
	var im apiImage
	decode(t, body, &im)
	if !contains(im.TagList, tag) || len(im.Versions) != 1 || im.Versions[0].SHA != im.LatestSHA {
		t.Errorf("repository: tags %v, versions %d", im.TagList, len(im.Versions))
	}
	resp, body = ts.get(t, "/images/"+repo)
	if resp.StatusCode != 200 || !strings.Contains(pageText(body), tag) {
		t.Errorf("repository page: %s", resp.Status)
	}

	src, err := source.Open(context.Background(), parent, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parentLayers := len(src.Image().Layers)
	src.Close()
	resp, body = ts.get(t, "/v1/images/"+child+"/-/diff/"+parent)
	if resp.StatusCode != 200 {
		t.Fatalf("diff API: %s %s", resp.Status, body)
	}
	schemas.validate(t, "Diff", body)
	var d struct {
		Verdict      string
		SharedLayers int
	}
	decode(t, body, &d)
	if d.Verdict != "different" || d.SharedLayers != parentLayers {
		t.Errorf("diff: %s, %d shared layers; the parent has %d", d.Verdict, d.SharedLayers, parentLayers)
	}
	resp, body = ts.get(t, "/images/"+child+"/-/diff/"+parent)
	if resp.StatusCode != 200 || !strings.Contains(pageText(body), fmt.Sprintf("different: %d shared layers", parentLayers)) {
		t.Errorf("diff page: %s\n%s", resp.Status, pageText(body))
	}

	ts.catalogue(t, parent)
	resp, body = ts.get(t, "/v1/catalog?q=strata-test/parent")
	schemas.validate(t, "Catalog", body)
	var c apiCatalog
	decode(t, body, &c)
	if resp.StatusCode != 200 || len(c.Images) != 1 || c.Images[0].Tag != "buildkit" {
		t.Errorf("catalog search: %s %+v", resp.Status, c)
	}
	if resp, body := ts.get(t, "/catalog?q=parent"); resp.StatusCode != 200 || !strings.Contains(pageText(body), "strata-test/parent") {
		t.Errorf("catalog page: %s", resp.Status)
	}

	resp, body = ts.get(t, "/v1/images/"+repo+":no-such-tag")
	if resp.StatusCode != 404 {
		t.Errorf("missing tag: %s", resp.Status)
	}
	schemas.validate(t, "Error", body)
	if resp, body := ts.get(t, "/badges/version/"+repo+":no-such-tag.svg"); resp.StatusCode != 200 || !strings.Contains(string(body), "not found") {
		t.Errorf("badge of a missing tag: %s %s", resp.Status, body)
	}
	if resp, _ := ts.get(t, "/v1/images/UPPER/Case"); resp.StatusCode != 400 {
		t.Errorf("bad reference: %s", resp.Status)
	}
	if resp, body := ts.get(t, "/metrics"); resp.StatusCode != 200 || !strings.Contains(string(body), `strata_http_requests_total{code="200",route="api"}`) {
		t.Errorf("metrics: %s", resp.Status)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestIdenticalImages: a catalogued image with the same whole layer
// chain under another name is listed as identical; the image itself,
// catalogued under its own name, is not.
func TestIdenticalImages(t *testing.T) {
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}})
	child := builtPairs(t)["buildkit"][0]
	src, err := source.Open(context.Background(), child, source.Options{Platform: &image.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	img := src.Image()
	src.Close()
	ctx := context.Background()
	mirror := registry(t) + "/mirror/child"
	repo := child[:strings.LastIndex(child, ":")]
	for _, name := range []string{mirror, repo} {
		if err := ts.cat.Add(ctx, catalog.FromImage(img, catalog.Familiar(name), "buildkit")); err != nil {
			t.Fatal(err)
		}
	}
	_, body := ts.get(t, "/v1/images/"+child)
	var v apiVersion
	decode(t, body, &v)
	if len(v.Identical) != 1 || v.Identical[0].ImageName != mirror || v.Identical[0].SHA != img.ManifestDigest {
		t.Errorf("identical: %+v, want only %s", v.Identical, mirror)
	}
	if resp, page := ts.get(t, "/images/"+child); resp.StatusCode != 200 || !strings.Contains(pageText(page), mirror) {
		t.Errorf("the page does not list %s as identical", mirror)
	}
}
