package server

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// xssPayloads are what the hostile image carries; each, if it ran,
// would set document.title to a "pwned-…" marker.
var xssPayloads = map[string]string{
	"label value":    `</pre><script>document.title='pwned-label'</script>`,
	"history":        `<script>document.title="pwned-history"</script>`,
	"author":         `<img src=x onerror="document.title='pwned-author'">`,
	"annotation":     `<svg onload="document.title='pwned-annotation'"></svg>`,
	"comment":        `<iframe src="javascript:document.title='pwned-comment'"></iframe>`,
	"javascript url": `javascript:document.title='pwned-url'`,
}

// pushXSSImage builds an image whose labels, label keys, history,
// author, comment and manifest annotations carry HTML, scripts and
// javascript: URLs, pushes it to the real registry, and returns its
// reference. Generated in the test: hostile input no builder would make.
func pushXSSImage(t *testing.T) string {
	t.Helper()
	layer, err := crane.Layer(map[string][]byte{"etc/xss": []byte(xssPayloads["history"])})
	if err != nil {
		t.Fatal(err)
	}
	created := v1.Time{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	named, gone := hostileNameLayers(t)
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		Created: created, CreatedBy: "/bin/sh -c echo '" + xssPayloads["history"] + "' > /etc/xss", Comment: xssPayloads["comment"],
	}}, mutate.Addendum{Layer: named, History: v1.History{Created: created, CreatedBy: "COPY hostile-names /"}},
		mutate.Addendum{Layer: gone, History: v1.History{Created: created, CreatedBy: "/bin/sh -c rm /hostile-gone*"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Author, cf.Created = "amd64", "linux", xssPayloads["author"], created
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.description":             xssPayloads["label value"],
		"org.opencontainers.image.source":                  xssPayloads["javascript url"],
		"org.opencontainers.image.url":                     "JavaScript:alert(1)",
		"org.opencontainers.image.documentation":           `https://example.invalid/"><script>document.title='pwned-attr'</script>`,
		"org.opencontainers.image.licenses":                "<b>MIT</b>",
		`<img src=x onerror="document.title='pwned-key'">`: "a key with HTML",
	}
	cf.History = append(cf.History,
		v1.History{Created: created, CreatedBy: `/bin/sh -c #(nop)  LABEL x=` + xssPayloads["label value"], EmptyLayer: true},
		v1.History{Created: created, CreatedBy: `/bin/sh -c #(nop)  CMD ["` + strings.ReplaceAll(xssPayloads["author"], `"`, `\"`) + `"]`, EmptyLayer: true})
	cf.Config.Cmd = []string{xssPayloads["author"]}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.title":  xssPayloads["annotation"],
		"org.opencontainers.image.source": xssPayloads["javascript url"],
	}).(v1.Image)
	ref := fmt.Sprintf("%s/strata-test-serve/xss:t%d", registry(t), time.Now().UnixNano())
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push the XSS image: %v", err)
	}
	return ref
}

// handlerAttr is an on… attribute inside a tag (escaped text has no "<").
var handlerAttr = regexp.MustCompile(`(?i)<[a-z][^<>]*\son[a-z]+\s*=`)

// TestXSSImageEscaped: every payload shows on the page as text, never as
// markup: no script, iframe or handler attribute reaches the HTML, and
// no javascript: URL becomes a link. (TestBrowser checks the same page
// in Chromium, where nothing may execute.)
func TestXSSImageEscaped(t *testing.T) {
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}})
	ref := pushXSSImage(t)
	resp, body := ts.get(t, "/images/"+ref)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s\n%s", ref, resp.Status, body)
	}
	page := string(body)
	for _, bad := range []string{"<script", "<iframe", "<img src=x", "<svg onload", `href="javascript:`, `href="JavaScript:`, "<b>MIT"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if m := handlerAttr.FindString(page); m != "" {
		t.Errorf("an element has an event handler: %s", m)
	}
	text := pageText(body)
	for what, p := range xssPayloads {
		if what == "comment" {
			continue // comments are not shown on the page
		}
		if !strings.Contains(text, p) {
			t.Errorf("the %s payload is not shown as text: %q", what, p)
		}
	}
	// The API carries the strings as data.
	_, api := ts.get(t, "/v1/images/"+ref)
	var v apiVersion
	decode(t, api, &v)
	if v.Labels["org.opencontainers.image.description"] != xssPayloads["label value"] || v.Author != xssPayloads["author"] {
		t.Errorf("API changed the strings: %q %q", v.Labels["org.opencontainers.image.description"], v.Author)
	}
	for _, l := range v.LabelDetails {
		if l.Link != "" && !strings.HasPrefix(l.Link, "https://") && !strings.HasPrefix(l.Link, "http://") {
			t.Errorf("label %s links to %q", l.Key, l.Link)
		}
	}
	for _, kind := range []string{"license", "version"} {
		_, svg := ts.get(t, "/badges/"+kind+"/"+ref+".svg")
		if strings.Contains(string(svg), "<b>") {
			t.Errorf("%s badge carries markup: %s", kind, svg)
		}
	}
}
