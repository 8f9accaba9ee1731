package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/postgres"
	"github.com/strata-tool/strata/internal/testenv"
)

// slowRegistry is the real registry behind a proxy that delays every GET
// of a manifest by digest (what a crawl job fetches, not what a poll's
// HEAD asks), so jobs are in flight long enough to kill a worker in one.
// Fault injection only: every byte comes from the real registry.
func slowRegistry(t *testing.T, delay time.Duration) string {
	t.Helper()
	target, _ := url.Parse("http://" + registry(t))
	rp := httputil.NewSingleHostReverseProxy(target)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			time.Sleep(delay)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return strings.TrimPrefix(hs.URL, "http://")
}

// buildStrata builds the strata binary once for the test.
func buildStrata(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "strata")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/strata")
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestReplicasShareQueue: three `strata serve` processes on one PostgreSQL
// catalog crawl one watch list. One is killed with SIGKILL while it holds
// a job. Every tag's digest is still indexed exactly once — recorded done
// once, catalogued once — and nothing is lost.
func TestReplicasShareQueue(t *testing.T) {
	dsn, admin, _ := testenv.PostgresSchema(t, "strata_serve")
	bin := buildStrata(t)
	reg := slowRegistry(t, 700*time.Millisecond)
	var repos []string
	want := map[string]bool{}
	for _, r := range []string{"parent", "child", "single"} {
		repo := reg + "/strata-test/" + r
		repos = append(repos, repo)
		for tag, d := range tagDigests(t, repo) {
			want[repo+":"+tag+"@"+d] = true
		}
	}
	watch := filepath.Join(t.TempDir(), "watch.txt")
	os.WriteFile(watch, []byte("# the test's watch list\n"+strings.Join(repos, "\n")+"\n"), 0o644)

	type replica struct {
		name string
		cmd  *exec.Cmd
		log  string
	}
	var replicas []*replica
	for i := 1; i <= 3; i++ {
		r := &replica{name: fmt.Sprintf("strata-replica-%d", i), log: filepath.Join(t.TempDir(), "serve.log")}
		logf, _ := os.Create(r.log)
		r.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--catalog", dsn+"&application_name="+r.name,
			"--allow-registry", reg, "--watch-file", watch, "--workers", "2", "--poll-interval", "1h", "--upstream-timeout", "5s")
		r.cmd.Stdout, r.cmd.Stderr = logf, logf
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, r)
	}
	var stopped atomic.Bool
	defer func() {
		if stopped.Load() {
			return
		}
		for _, r := range replicas {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	}()

	// Once some jobs are done, kill -9 the first replica seen holding a
	// job: its session sits in the job's transaction, last statement the
	// claiming SELECT.
	var victim *replica
	deadline := time.Now().Add(60 * time.Second)
	for victim == nil && time.Now().Before(deadline) {
		var n int
		if err := admin.QueryRow(`SELECT count(*) FROM ` + schemaOf(dsn) + `.crawl_done`).Scan(&n); err != nil || n < 6 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var app string
		err := admin.QueryRow(`SELECT application_name FROM pg_stat_activity
			WHERE state = 'idle in transaction' AND query LIKE '%crawl_jobs%SKIP LOCKED%' AND application_name LIKE 'strata-replica-%' LIMIT 1`).Scan(&app)
		if err == nil {
			for _, r := range replicas {
				if r.name == app {
					victim = r
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if victim == nil {
		t.Fatal("no replica was ever seen holding a job")
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()
	killedAt := time.Now()
	t.Logf("killed %s (pid %d) mid-job", victim.name, victim.cmd.Process.Pid)

	cat, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	finished := func() bool {
		st, err := cat.CrawlStats(context.Background())
		return err == nil && st.Queued == 0 && st.Done+st.Failed >= len(want)
	}
	for end := time.Now().Add(120 * time.Second); !finished(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			st, _ := cat.CrawlStats(context.Background())
			for _, r := range replicas {
				b, _ := os.ReadFile(r.log)
				t.Logf("%s log:\n%s", r.name, tail(string(b), 3000))
			}
			t.Fatalf("not done after 120s: %+v, want %d", st, len(want))
		}
	}
	done, err := cat.Done(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	afterKill := 0
	for _, d := range done {
		if d.Error != "" {
			t.Errorf("%s:%s failed: %s", d.Repo, d.Tag, d.Error)
		}
		got[d.Repo+":"+d.Tag+"@"+d.Digest]++
		if d.Finished.After(killedAt) {
			afterKill++
		}
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("%s recorded done %d times", k, got[k])
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("%s done but not in the registry", k)
		}
	}
	if afterKill == 0 || afterKill == len(done) {
		t.Errorf("%d of %d jobs finished after the kill: it was not mid-crawl", afterKill, len(done))
	}
	es, err := cat.List(context.Background(), catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range es {
		seen[e.Name+":"+e.Tag+"@"+e.ManifestDigest]++
	}
	if len(es) != len(want) {
		t.Errorf("catalog holds %d entries for %d tags", len(es), len(want))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s catalogued %d times", k, n)
		}
	}
	// The survivors shut down gracefully on SIGTERM.
	stopped.Store(true)
	for _, r := range replicas {
		if r == victim {
			continue
		}
		r.cmd.Process.Signal(syscall.SIGTERM)
		if err := r.cmd.Wait(); err != nil {
			b, _ := os.ReadFile(r.log)
			t.Errorf("%s on SIGTERM: %v\n%s", r.name, err, b)
		}
	}
	t.Logf("%d jobs, %d finished after the kill", len(done), afterKill)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// schemaOf is the search_path of a test DSN.
func schemaOf(dsn string) string {
	u, _ := url.Parse(dsn)
	return u.Query().Get("search_path")
}
