// Command catalog benchmarks the catalog stores: it imports a synthetic
// catalog of realistic lineage (see catalog/synth) into each store and
// looks up the base of random catalogued images, printing the import rate
// and lookup latency percentiles beside the targets as ratios.
//
//	go run ./bench/catalog -n 1000000 -store sqlite
//	go run ./bench/catalog -n 100000 -store postgres -dsn postgres://…
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/postgres"
	"github.com/strata-tool/strata/catalog/sqlite"
	"github.com/strata-tool/strata/catalog/synth"
)

const (
	targetImportRate = 20000.0 // images/s
	targetLookupP99  = time.Millisecond
)

func main() {
	n := flag.Int("n", 100000, "images in the synthetic catalog")
	stores := flag.String("store", "sqlite", "comma-separated stores: sqlite, postgres")
	dsn := flag.String("dsn", os.Getenv("STRATA_TEST_POSTGRES_DSN"), "PostgreSQL DSN for -store postgres")
	dir := flag.String("dir", "", "directory for the SQLite file (default: a temporary directory, removed after)")
	batch := flag.Int("batch", catalog.DefaultBatch, "entries per transaction")
	lookups := flag.Int("lookups", 10000, "random base lookups to time")
	seed := flag.Uint64("seed", 1, "generator seed")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the import here")
	lookupProfile := flag.String("lookupprofile", "", "write a CPU profile of the lookups here")
	bulk := flag.Bool("bulk", true, "load the empty catalog as catalog.Import does (indexes built at the end); -bulk=false times row-by-row index upkeep, as adding to a filled catalog pays")
	runs := flag.Int("runs", 1, "repeat each store's run this many times (fresh store each) and print the medians: wall times on a shared machine are noisy")
	flag.Parse()
	ctx := context.Background()
	for _, name := range strings.Split(*stores, ",") {
		var rs []result
		for i := 0; i < max(1, *runs); i++ {
			c, cleanup, err := open(ctx, name, *dsn, *dir)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			r, err := run(ctx, c, *n, *batch, *lookups, *bulk, *seed, *cpuprofile, *lookupProfile)
			cleanup()
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			r.print(fmt.Sprintf("store=%s images=%d batch=%d bulk=%v run %d/%d", name, *n, *batch, *bulk, i+1, *runs))
			rs = append(rs, r)
		}
		if len(rs) > 1 {
			median(rs).print(fmt.Sprintf("store=%s images=%d batch=%d bulk=%v MEDIAN of %d runs (each figure's own median)", name, *n, *batch, *bulk, len(rs)))
		}
	}
}

// result is one run's figures.
type result struct {
	load              string
	rate, cpuRate     float64 // images/s wall, images per CPU-second
	elapsed           time.Duration
	lookups           int
	p50, p99, lookCPU time.Duration
	cpu50, cpu99      time.Duration // lookup thread's CPU per lookup
	wrong             int
}

func (r result) print(title string) {
	fmt.Printf("%s, load average at start %s\n", title, r.load)
	fmt.Printf("  import: %.0f images/s wall in %.1fs (target >= %.0f/s: %.2fx); %.0f images per CPU-second of this process (%.2fx)\n",
		r.rate, r.elapsed.Seconds(), targetImportRate, r.rate/targetImportRate, r.cpuRate, r.cpuRate/targetImportRate)
	fmt.Printf("  base lookup (%d random images, both chains): p50 %s, p99 %s wall (target p99 <= %s: %.2fx of the limit); %s CPU per lookup in this process\n",
		r.lookups, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), targetLookupP99, float64(r.p99)/float64(targetLookupP99), r.lookCPU.Round(time.Microsecond))
	fmt.Printf("  base lookup CPU of the lookup thread: p50 %s, p99 %s (%.2fx of the p99 limit)\n",
		r.cpu50.Round(time.Microsecond), r.cpu99.Round(time.Microsecond), float64(r.cpu99)/float64(targetLookupP99))
	fmt.Printf("  wrong answers: %d of %d\n", r.wrong, r.lookups)
}

// median takes each figure's median over the runs separately.
func median(rs []result) result {
	mid := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}
	pick := func(f func(result) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return mid(xs)
	}
	m := rs[0]
	var loads []string
	for _, r := range rs {
		loads = append(loads, strings.Fields(r.load + " ?")[0])
		m.wrong = max(m.wrong, r.wrong)
	}
	m.load = "(1-min, per run) " + strings.Join(loads, " ")
	m.rate = pick(func(r result) float64 { return r.rate })
	m.cpuRate = pick(func(r result) float64 { return r.cpuRate })
	m.elapsed = time.Duration(pick(func(r result) float64 { return float64(r.elapsed) }))
	m.p50 = time.Duration(pick(func(r result) float64 { return float64(r.p50) }))
	m.p99 = time.Duration(pick(func(r result) float64 { return float64(r.p99) }))
	m.cpu50 = time.Duration(pick(func(r result) float64 { return float64(r.cpu50) }))
	m.cpu99 = time.Duration(pick(func(r result) float64 { return float64(r.cpu99) }))
	m.lookCPU = time.Duration(pick(func(r result) float64 { return float64(r.lookCPU) }))
	return m
}

func open(ctx context.Context, name, dsn, dir string) (catalog.Catalog, func(), error) {
	switch name {
	case "sqlite":
		d := dir
		if d == "" {
			var err error
			if d, err = os.MkdirTemp("", "strata-bench-"); err != nil {
				return nil, nil, err
			}
		}
		path := filepath.Join(d, fmt.Sprintf("bench-%d.db", time.Now().UnixNano()))
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return s, func() {
			s.Close()
			for _, suf := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suf)
			}
			if dir == "" {
				os.Remove(d)
			}
		}, nil
	case "postgres":
		if dsn == "" {
			return nil, nil, fmt.Errorf("-store postgres needs -dsn or STRATA_TEST_POSTGRES_DSN")
		}
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, nil, err
		}
		// A private schema so the benchmark never touches real data.
		schema := fmt.Sprintf("strata_bench_%d", time.Now().UnixNano())
		if _, err := s.DB().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			return nil, nil, err
		}
		s.Close()
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		s, err = postgres.Open(ctx, dsn+sep+"search_path="+schema)
		if err != nil {
			return nil, nil, err
		}
		return s, func() {
			s.DB().ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			s.Close()
		}, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q (want sqlite or postgres)", name)
}

type sample struct {
	e      catalog.Entry
	parent string // expected nearest ancestor's ref, "" for a base
	plen   int
}

func run(ctx context.Context, c catalog.Catalog, n, batch, lookups int, bulk bool, seed uint64, cpuprofile, lookupProfile string) (result, error) {
	load := loadAvg()
	g := synth.New(seed, n)
	rnd := rand.New(rand.NewPCG(seed, 99))
	// Reservoir sample of entries to look up, with the parent each was
	// built on — the answer the lookup must give.
	var samples []sample
	buf := make([]catalog.Entry, 0, batch)
	var genTime time.Duration
	seen := 0
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return result{}, err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var importCPU time.Duration
	start := time.Now()
	finish := func() error { return nil }
	if bulk {
		// As catalog.Import does: an empty catalog is loaded with its
		// lookup indexes built once at the end (timed here too).
		var err error
		if finish, err = catalog.Bulk(ctx, c); err != nil {
			return result{}, err
		}
	}
	for {
		t0 := time.Now()
		e, p, ok := g.Next()
		genTime += time.Since(t0)
		if ok {
			buf = append(buf, e)
			s := sample{e: e}
			if p != nil {
				s.parent, s.plen = p.Ref(), p.Layers()
			}
			if len(samples) < lookups {
				samples = append(samples, s)
			} else if j := rnd.IntN(seen + 1); j < lookups {
				samples[j] = s
			}
			seen++
		}
		if len(buf) == batch || (!ok && len(buf) > 0) {
			c0 := cpuTime()
			if err := c.Add(ctx, buf...); err != nil {
				return result{}, err
			}
			importCPU += cpuTime() - c0
			buf = buf[:0]
		}
		if !ok {
			break
		}
	}
	c0 := cpuTime()
	if err := finish(); err != nil {
		return result{}, err
	}
	importCPU += cpuTime() - c0
	elapsed := time.Since(start) - genTime
	rate := float64(n) / elapsed.Seconds()
	// CPU is summed over the Add calls only: the generator runs in this
	// process too.
	cpuRate := float64(n) / importCPU.Seconds()
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if lookupProfile != "" {
		f, err := os.Create(lookupProfile)
		if err != nil {
			return result{}, err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	lat := make([]time.Duration, 0, len(samples))
	// The lookups' own CPU, per lookup, on the one thread that runs them
	// (the pure-Go SQLite runs in the caller's goroutine): what the wall
	// percentiles would be on an idle machine, less scheduling and GC.
	threadLat := make([]time.Duration, 0, len(samples))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wrong := 0
	cpu1 := cpuTime()
	for _, s := range samples {
		t0, c0 := time.Now(), threadCPU()
		ms, err := catalog.Lookup(ctx, c, s.e.ChainIDs, s.e.BlobChainIDs)
		lat = append(lat, time.Since(t0))
		threadLat = append(threadLat, threadCPU()-c0)
		if err != nil {
			return result{}, err
		}
		// ms[0] is the image itself (identical); ms[1] must be its parent.
		if len(ms) == 0 || ms[0].Layers != s.e.Layers() {
			wrong++
			continue
		}
		if s.parent == "" {
			continue
		}
		if len(ms) < 2 || ms[1].Layers != s.plen || !hasRef(ms[1], s.parent) {
			wrong++
		}
	}
	lookupCPU := (cpuTime() - cpu1) / time.Duration(max(1, len(lat)))
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{load: load, rate: rate, cpuRate: cpuRate, elapsed: elapsed, lookups: len(lat), lookCPU: lookupCPU, wrong: wrong}
	sort.Slice(threadLat, func(i, j int) bool { return threadLat[i] < threadLat[j] })
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
		r.cpu50, r.cpu99 = threadLat[len(lat)/2], threadLat[len(lat)*99/100]
	}
	return r, nil
}

// cpuTime is this process's user+system CPU time: on a shared machine the
// wall clock also measures everyone else.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func hasRef(m catalog.Match, ref string) bool {
	for _, e := range m.Entries {
		if e.Ref() == ref {
			return true
		}
	}
	return false
}
