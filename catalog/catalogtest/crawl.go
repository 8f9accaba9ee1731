package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/strata-tool/strata/catalog"
)

// crawlHandles opens a fresh catalog with its crawl tables and n further
// handles on it (separate connections, as separate servers would have).
func crawlHandles(t *testing.T, s Store, n int) []catalog.Crawler {
	t.Helper()
	ctx := context.Background()
	c, spec := s.New(t)
	cr, ok := c.(catalog.Crawler)
	if !ok {
		t.Fatalf("%T does not implement catalog.Crawler", c)
	}
	for i := 0; i < 2; i++ {
		if err := cr.EnsureCrawl(ctx); err != nil {
			t.Fatalf("EnsureCrawl (%d): %v", i+1, err)
		}
	}
	out := []catalog.Crawler{cr}
	for i := 0; i < n; i++ {
		o, err := s.Reopen(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { o.Close() })
		out = append(out, o.(catalog.Crawler))
	}
	return out
}

// testCrawl: the crawl queue's promises, raced from several handles: one
// claim per due poll, one job per new digest, each job done exactly once,
// failures retried then given up, a lapsed worker never commits twice.
func testCrawl(t *testing.T, s Store) {
	ctx := context.Background()
	hs := crawlHandles(t, s, 3)
	now := time.Unix(1_800_000_000, 0)

	ws := []catalog.Watch{{Repo: "r.example/a"}, {Repo: "r.example/b", Tag: "v1"}}
	for _, h := range hs[:2] {
		if err := h.Watch(ctx, ws...); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := hs[0].Watched(ctx); err != nil || len(got) != 2 {
		t.Fatalf("watched: %v, %v", got, err)
	}

	// Every due poll is claimed once, whoever races for it.
	claims := raceAll(t, hs, func(h catalog.Crawler) (string, bool, error) {
		w, ok, err := h.ClaimPoll(ctx, now, time.Minute)
		return w.Repo + ":" + w.Tag, ok, err
	})
	if len(claims) != 2 || claims["r.example/a:"] != 1 || claims["r.example/b:v1"] != 1 {
		t.Errorf("poll claims: %v, want each watch entry once", claims)
	}
	if ok, err := hs[1].Poke(ctx, "r.example/a"); !ok || err != nil {
		t.Errorf("poke: %v %v", ok, err)
	}
	w, ok, _ := hs[2].ClaimPoll(ctx, now, time.Minute)
	if !ok || w.Repo != "r.example/a" {
		t.Fatalf("a poked repository is due at once: %v %v", w, ok)
	}
	// A poller that dies leaves its claim to lapse: due again after the
	// lease; one that finishes sets when the repository is due next.
	if w2, ok, _ := hs[0].ClaimPoll(ctx, now.Add(2*time.Minute), time.Minute); !ok || w2 != w {
		t.Errorf("a lapsed poll claim is not due again: %v %v", w2, ok)
	}
	if err := hs[0].PollDone(ctx, w, now, now.Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	if w3, ok, _ := hs[1].ClaimPoll(ctx, now.Add(30*time.Minute), time.Minute); ok && w3.Repo == w.Repo && w3.Tag == w.Tag {
		t.Errorf("polled at now, due in an hour, claimed again after 30 minutes")
	}

	// One new digest, seen by every handle at once, queues one job.
	queued := raceAll(t, hs, func(h catalog.Crawler) (string, bool, error) {
		ok, err := h.SawTag(ctx, "r.example/a", "latest", layer("d0"), now)
		return "latest", ok, err
	})
	if queued["latest"] != 1 {
		t.Errorf("a digest seen by %d handles queued %d jobs, want 1", len(hs), queued["latest"])
	}
	if ok, _ := hs[0].SawTag(ctx, "r.example/a", "latest", layer("d0"), now); ok {
		t.Errorf("the same digest queued again")
	}
	for i := 1; i < 20; i++ {
		if ok, err := hs[0].SawTag(ctx, "r.example/a", fmt.Sprintf("t%d", i), layer(fmt.Sprint("d", i)), now); !ok || err != nil {
			t.Fatalf("new tag not queued: %v", err)
		}
	}

	// Twenty jobs, eight workers on four handles: each done once.
	var mu sync.Mutex
	calls := map[string]int{}
	work := func(_ context.Context, j catalog.Job) ([]catalog.Entry, error) {
		mu.Lock()
		calls[j.Digest]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		return []catalog.Entry{entry(j.Repo, j.Tag, j.Digest)}, nil
	}
	raceAll(t, append(hs, hs...), func(h catalog.Crawler) (string, bool, error) {
		ok, err := h.Work(ctx, "w", now, work)
		return "job", ok, err
	})
	if len(calls) != 20 {
		t.Errorf("%d distinct jobs run, want 20", len(calls))
	}
	for d, n := range calls {
		if n != 1 {
			t.Errorf("job %s ran %d times", d, n)
		}
	}
	done, err := hs[0].Done(ctx, 0)
	if err != nil || len(done) != 20 {
		t.Fatalf("done: %d, %v", len(done), err)
	}
	if n, _ := hs[0].(catalog.Catalog).Count(ctx); n != 20 {
		t.Errorf("catalog has %d entries after 20 jobs", n)
	}

	testCrawlFailure(t, hs, now)
	testCrawlLapse(t, hs, now)
	testSearch(t, hs[0].(catalog.Catalog))
}

// raceAll runs fn on every handle concurrently, each until it reports
// nothing more, and counts the keys of what they got.
func raceAll(t *testing.T, hs []catalog.Crawler, fn func(catalog.Crawler) (string, bool, error)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, ok, err := fn(h)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				got[k]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

func testCrawlFailure(t *testing.T, hs []catalog.Crawler, now time.Time) {
	ctx := context.Background()
	if ok, err := hs[0].SawTag(ctx, "r.example/bad", "x", layer("bad"), now); !ok || err != nil {
		t.Fatalf("queue: %v %v", ok, err)
	}
	boom := errors.New("registry unreachable")
	fail := func(context.Context, catalog.Job) ([]catalog.Entry, error) { return nil, boom }
	at := now
	for i := 1; i <= catalog.MaxAttempts; i++ {
		ok, err := hs[i%len(hs)].Work(ctx, "w", at, fail)
		if !ok || err != nil {
			t.Fatalf("attempt %d: %v %v", i, ok, err)
		}
		if i < catalog.MaxAttempts {
			if ok, _ := hs[0].Work(ctx, "w", at, fail); ok {
				t.Fatalf("a failed job was retried at once (attempt %d)", i)
			}
		}
		at = at.Add(time.Hour)
	}
	if ok, _ := hs[0].Work(ctx, "w", at.Add(time.Hour), fail); ok {
		t.Errorf("a job given up is still queued")
	}
	done, _ := hs[0].Done(ctx, 0)
	last := done[len(done)-1]
	if last.Digest != layer("bad") || last.Error != boom.Error() || last.Entries != 0 {
		t.Errorf("given-up job recorded as %+v", last)
	}
	st, err := hs[0].CrawlStats(ctx)
	if err != nil || st.Failed != 1 || st.Queued != 0 || st.Done != 20 {
		t.Errorf("stats %+v, %v", st, err)
	}
}

// testCrawlLapse: while one worker holds a job, another asks for work
// far in the future (a leased job's lease has run out by then). However
// the store arbitrates, the job is recorded done once and catalogued once.
func testCrawlLapse(t *testing.T, hs []catalog.Crawler, now time.Time) {
	ctx := context.Background()
	hs[0].SawTag(ctx, "r.example/slow", "x", layer("slow"), now)
	mk := func(j catalog.Job) []catalog.Entry { return []catalog.Entry{entry(j.Repo, j.Tag, j.Digest)} }
	ok, err := hs[0].Work(ctx, "first", now, func(ctx context.Context, j catalog.Job) ([]catalog.Entry, error) {
		_, err := hs[1].Work(ctx, "second", now.Add(time.Hour), func(_ context.Context, j catalog.Job) ([]catalog.Entry, error) {
			return mk(j), nil
		})
		if err != nil {
			t.Error(err)
		}
		return mk(j), nil
	})
	if !ok || err != nil {
		t.Fatalf("work: %v %v", ok, err)
	}
	done, _ := hs[0].Done(ctx, 0)
	n := 0
	for _, d := range done {
		if d.Digest == layer("slow") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("a job two workers held was recorded done %d times", n)
	}
	es, _ := hs[0].(catalog.Catalog).List(ctx, catalog.Filter{Name: "r.example/slow"})
	if len(es) != 1 {
		t.Errorf("catalogued %d times", len(es))
	}
}

func testSearch(t *testing.T, c catalog.Catalog) {
	ctx := context.Background()
	s, ok := c.(catalog.Searcher)
	if !ok {
		t.Fatalf("%T does not implement catalog.Searcher", c)
	}
	got, err := s.Search(ctx, "EXAMPLE/A", 5, 0)
	if err != nil || len(got) != 5 {
		t.Fatalf("search: %d, %v", len(got), err)
	}
	for _, e := range got {
		if e.Name != "r.example/a" {
			t.Errorf("search for example/a found %s", e.Name)
		}
	}
	if got, _ := s.Search(ctx, "%", 50, 0); len(got) != 0 {
		t.Errorf("%% is a wildcard: %d hits", len(got))
	}
	rest, _ := s.Search(ctx, "example/a", 50, 5)
	if len(rest) != 15 {
		t.Errorf("second page: %d entries, want 15", len(rest))
	}
}
