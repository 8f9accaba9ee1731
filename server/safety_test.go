package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/internal/testenv"
)

// TestSSRFNoConnection: pages, API and badges naming a loopback registry
// that was not allowed are refused (403), and a listener on that address
// records no connection — by IP, by a name resolving to it, and through
// the MicroBadger version path. The allowed registry keeps working.
func TestSSRFNoConnection(t *testing.T) {
	ln, accepted := testenv.CountingListener(t)
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}})
	for _, path := range []string{
		"/v1/images/" + addr + "/x/y:latest",
		"/v1/images/" + addr + "/x/y",
		"/images/" + addr + "/x/y:latest",
		"/images/localhost:" + port + "/x/y:latest",
		"/badges/image/" + addr + "/x/y:latest.svg",
		"/badges/base/localhost:" + port + "/x/y.json",
		"/v1/images/" + addr + "/x/y/version/" + strings.Repeat("ab", 32),
		"/v1/images/" + registry(t) + "/strata-test/child:buildkit/-/diff/" + addr + "/x/y:1",
		"/v1/images/169.254.169.254/latest/meta-data:x",
		"/v1/images/10.0.0.1:5000/x:y",
	} {
		resp, body := ts.get(t, path)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %s %s, want 403", path, resp.Status, body)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Errorf("the loopback listener accepted %d connections", n)
	}
	if resp, _ := ts.get(t, "/v1/images/"+registry(t)+"/strata-test/parent:buildkit"); resp.StatusCode != 200 {
		t.Errorf("the allowed registry: %s", resp.Status)
	}
}

// TestRateLimits: a client over its request rate gets 429 with
// Retry-After; a client over its registry-fetch rate too, while cached
// pages keep being served to it.
func TestRateLimits(t *testing.T) {
	// Rates so low that no token comes back while the test runs: what is
	// checked is the count, never the clock.
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)}, RateLimit: 0.001, ColdRateLimit: -1})
	codes := map[int]int{}
	for i := 0; i < 5; i++ {
		resp, _ := ts.get(t, "/healthz")
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if codes[200] != 1 || codes[429] != 4 {
		t.Errorf("burst 1: %v", codes)
	}

	ts = newTestServer(t, Config{AllowRegistries: []string{registry(t)}, RateLimit: 1000, ColdRateLimit: 0.001})
	ref := "/v1/images/" + registry(t) + "/strata-test/parent:"
	var cold []int
	for _, tag := range []string{"buildkit", "classic", "podman"} {
		resp, _ := ts.get(t, ref+tag)
		cold = append(cold, resp.StatusCode)
	}
	// Burst 1: the first fetch goes, the next two would reach the registry.
	if cold[0] != 200 || cold[1] != 429 || cold[2] != 429 {
		t.Errorf("cold fetches: %v", cold)
	}
	if resp, _ := ts.get(t, ref+"buildkit"); resp.StatusCode != 200 {
		t.Errorf("a cached image is limited too: %s", resp.Status)
	}
}

// TestLogsEscapeRequests: a request path carrying a newline and a fake
// log record stays one escaped attribute of one log line.
func TestLogsEscapeRequests(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.get(t, "/images/x%0A%7B%22level%22:%22ERROR%22,%22msg%22:%22forged%22%7D")
	logged := false
	for _, line := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not one JSON record: %q", line)
		}
		if rec["msg"] == "forged" {
			t.Errorf("a request forged a log record: %q", line)
		}
		if p, _ := rec["path"].(string); strings.Contains(p, "%0A") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the request was not logged, escaped:\n%s", ts.logs.String())
	}
}

// TestCrawlAndWebhook: a server crawling a watched repository indexes
// every tag's digest (listed independently with go-containerregistry)
// exactly once; the webhook refuses unknown repositories and wrong
// tokens and accepts the right one.
func TestCrawlAndWebhook(t *testing.T) {
	repo := registry(t) + "/strata-test/parent"
	ts := newTestServer(t, Config{AllowRegistries: []string{registry(t)},
		Crawl: CrawlConfig{Watch: []catalog.Watch{{Repo: repo}}, Workers: 2, PollEvery: time.Hour, Name: "t"}})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	want := tagDigests(t, repo)
	cr := ts.cat.(catalog.Crawler)
	waitFor(t, 60*time.Second, func() bool {
		st, err := cr.CrawlStats(context.Background())
		return err == nil && st.Done+st.Failed >= len(want)
	})
	done2, _ := cr.Done(context.Background(), 0)
	seen := map[string]int{}
	for _, d := range done2 {
		if d.Error != "" {
			t.Errorf("job %s:%s failed: %s", d.Repo, d.Tag, d.Error)
		}
		seen[d.Tag+"@"+d.Digest]++
	}
	for tag, dg := range want {
		if seen[tag+"@"+dg] != 1 {
			t.Errorf("%s@%s indexed %d times", tag, dg, seen[tag+"@"+dg])
		}
	}
	es, _ := ts.cat.List(context.Background(), catalog.Filter{Name: catalog.Familiar(repo)})
	if len(es) != len(want) {
		t.Errorf("catalog has %d entries of %s, the registry %d tags", len(es), repo, len(want))
	}

	base := "http://" + ln.Addr().String() + "/v1/refresh/" + repo
	post := func(url, tok string) int {
		req, _ := http.NewRequest(http.MethodPost, url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(base, "x"); c != http.StatusNotFound {
		t.Errorf("no token yet: %d", c)
	}
	tok, err := NewToken(context.Background(), cr, repo)
	if err != nil {
		t.Fatal(err)
	}
	if c := post(base, tok+"x"); c != http.StatusForbidden {
		t.Errorf("wrong token: %d", c)
	}
	if c := post(base, tok); c != http.StatusAccepted {
		t.Errorf("right token: %d", c)
	}
	if c := post(base+"?token="+tok, ""); c != http.StatusAccepted {
		t.Errorf("token as a parameter: %d", c)
	}
	ws, _ := cr.Watched(context.Background())
	if len(ws) != 1 || ws[0].LastPoll.IsZero() {
		t.Errorf("watch list %+v", ws)
	}
}

// tagDigests lists a repository's tags and their digests with
// go-containerregistry directly (not through strata).
func tagDigests(t *testing.T, repo string) map[string]string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tag := range tags {
		d, err := remote.Head(r.Tag(tag))
		if err != nil {
			t.Fatal(err)
		}
		out[tag] = d.Digest.String()
	}
	if len(out) == 0 {
		t.Fatalf("%s has no tags", repo)
	}
	return out
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not done after %s", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
