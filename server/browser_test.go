package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium (scripts/install-deps.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("STRATA_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("STRATA_REQUIRE_SERVICES") == "1" {
		t.Fatal("chromium not found; scripts/install-deps.sh installs it")
	}
	t.Skip("chromium not found (apt-get install chromium)")
	return ""
}

// browser is one headless Chromium, with what each page load reported.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	issues []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancelB(); cancelA() })
	b.ctx = ctx
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b.take()
	return b
}

// listen collects what a person would see in the developer tools:
// console errors and warnings, uncaught exceptions, log entries (CSP
// violations are logged there), blocked or failed loads, HTTP errors.
func (b *browser) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == "error" || e.Type == "warning" || e.Type == "assert" {
			b.report(fmt.Sprintf("console %s: %d args", e.Type, len(e.Args)))
		}
	case *runtime.EventExceptionThrown:
		b.report("exception: " + e.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			b.report(fmt.Sprintf("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventLoadingFailed:
		b.report(fmt.Sprintf("load failed: %s (blocked: %q)", e.ErrorText, e.BlockedReason))
	case *network.EventResponseReceived:
		if e.Response != nil && e.Response.Status >= 400 {
			b.report(fmt.Sprintf("HTTP %d for %s", e.Response.Status, e.Response.URL))
		}
	}
}

func (b *browser) report(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.issues = append(b.issues, s)
}

func (b *browser) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.issues
	b.issues = nil
	return out
}

// shot is what a person sees of one page.
type shot struct {
	Title        string `json:"title"`
	Text         string `json:"text"`
	Scripts      int    `json:"scripts"`
	Frames       int    `json:"frames"`
	Handlers     int    `json:"handlers"`
	JSLinks      int    `json:"jsLinks"`
	Images       int    `json:"images"`
	BrokenImages int    `json:"brokenImages"`
}

const inspect = `({
	title: document.title,
	text: document.querySelector("main").innerText,
	scripts: document.querySelectorAll("script").length,
	frames: document.querySelectorAll("iframe, object, embed").length,
	handlers: Array.from(document.querySelectorAll("*")).filter(e => Array.from(e.attributes).some(a => a.name.startsWith("on"))).length,
	jsLinks: Array.from(document.links).filter(a => !/^https?:$/.test(a.protocol)).length,
	images: document.images.length,
	brokenImages: Array.from(document.images).filter(i => i.naturalWidth === 0).length,
})`

// load opens url, waits for it and its images, saves a full-page
// screenshot as name.png in dir and returns what the page shows.
func (b *browser) load(t *testing.T, url, dir, name string) shot {
	t.Helper()
	err := chromedp.Do(b.ctx,
		chromedp.Navigate(url),
		chromedp.WaitReady(chromedp.CSS("footer")),
	)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: images: %v", url, err)
	}
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[shot](inspect))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", url, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", url, p)
	return s
}

// TestBrowser loads every page in headless Chromium and checks what a
// person sees: the expected text, no console error, no resource blocked
// or failing, no script (the CSP allows none and the pages have none),
// badges that load; and, on the hostile image's page, every payload shown
// as text with nothing executed. Screenshots go to
// $STRATA_SCREENSHOT_DIR (default: a strata-screenshots temp directory).
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	dir := os.Getenv("STRATA_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "strata-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := registry(t)
	ts := newTestServer(t, Config{AllowRegistries: []string{reg}, IndexStore: mustDirStore(t)})
	pair := builtPairs(t)["buildkit"]
	child, parent := pair[0], pair[1]
	repo := child[:strings.LastIndex(child, ":")]
	ts.catalogue(t, parent)
	xss := pushXSSImage(t)

	pages := []struct {
		name, path string
		want       []string
	}{
		{"home", "/", []string{"What is inside an image?", "Recently catalogued", "strata-test/parent"}},
		{"catalog", "/catalog?q=parent", []string{"Catalog", "strata-test/parent", "buildkit"}},
		{"version", "/images/" + child, []string{"Layers", "RUN mkdir -p /etc/strata", "echo child > /etc/strata/role", "Set by this image", "com.example.role", "Base ancestry", "strata-test/parent:buildkit", "Dockerfile"}},
		{"repository", "/images/" + repo, []string{"Tags", "buildkit", "classic"}},
		{"diff", "/images/" + child + "/-/diff/" + parent, []string{"different", "shared layers", "echo child > /etc/strata/role"}},
		{"files", "/images/" + child + "/-/files?path=etc", []string{"Files of", "etc/strata/role", "-rw-r--r--", "echo child > /etc/strata/role", "version page"}},
		{"changes", "/images/" + child + "/-/files?changes=1&path=etc", []string{"Changes, layer by layer, of", "added", "modified", "etc/strata/role", "final file system"}},
		{"waste", "/images/" + child + "/-/waste", []string{"Waste of", "Efficiency", "of file content shipped in", "User waste", "Visible but avoidable"}},
		{"xss-files", "/images/" + xss + "/-/files", []string{"hostile-link -> " + hostileLink}},
		{"xss-waste", "/images/" + xss + "/-/waste", []string{hostileGone, "Duplicate content"}},
		{"xss", "/images/" + xss, nil},
	}
	for _, h := range hostileNames {
		pages[len(pages)-3].want = append(pages[len(pages)-3].want, h.shown)
		pages[len(pages)-2].want = append(pages[len(pages)-2].want, h.shown)
	}
	for what, p := range xssPayloads {
		if what != "comment" {
			pages[len(pages)-1].want = append(pages[len(pages)-1].want, p)
		}
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			s := b.load(t, ts.URL+p.path, dir, p.name)
			for _, w := range p.want {
				if !strings.Contains(s.Text, w) {
					t.Errorf("the page does not show %q", w)
				}
			}
			if issues := b.take(); len(issues) > 0 {
				t.Errorf("the browser reported:\n%s", strings.Join(issues, "\n"))
			}
			if strings.Contains(s.Title, "pwned") {
				t.Errorf("a payload ran: title %q", s.Title)
			}
			if s.Scripts+s.Frames+s.Handlers+s.JSLinks+s.BrokenImages != 0 {
				t.Errorf("%d scripts, %d frames, %d event handlers, %d non-http links, %d broken images", s.Scripts, s.Frames, s.Handlers, s.JSLinks, s.BrokenImages)
			}
			if p.name == "version" && s.Images != 2*len(badgeKinds) {
				t.Errorf("%d images on the version page, want %d badges", s.Images, 2*len(badgeKinds))
			}
		})
	}
	t.Run("badge", func(t *testing.T) {
		err := chromedp.Do(b.ctx, chromedp.Navigate(ts.URL+"/badges/image/"+child+".svg"))
		var box struct{ W, H float64 }
		if err == nil {
			box, err = chromedp.Run(b.ctx, chromedp.Evaluate[struct{ W, H float64 }](`({W: document.documentElement.getBoundingClientRect().width, H: document.documentElement.getBoundingClientRect().height})`))
		}
		if w, h := int(box.W), int(box.H); err != nil || w < 40 || h != 20 {
			t.Errorf("badge renders %dx%d (%v)", w, h, err)
		}
		if issues := b.take(); len(issues) > 0 {
			t.Errorf("the browser reported:\n%s", strings.Join(issues, "\n"))
		}
	})
}
