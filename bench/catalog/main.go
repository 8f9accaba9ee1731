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
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

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
	flag.Parse()
	ctx := context.Background()
	for _, name := range strings.Split(*stores, ",") {
		c, cleanup, err := open(ctx, name, *dsn, *dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := run(ctx, name, c, *n, *batch, *lookups, *seed, *cpuprofile, *lookupProfile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			cleanup()
			os.Exit(1)
		}
		cleanup()
	}
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

func run(ctx context.Context, name string, c catalog.Catalog, n, batch, lookups int, seed uint64, cpuprofile, lookupProfile string) error {
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
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var importCPU time.Duration
	start := time.Now()
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
				return err
			}
			importCPU += cpuTime() - c0
			buf = buf[:0]
		}
		if !ok {
			break
		}
	}
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
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	lat := make([]time.Duration, 0, len(samples))
	wrong := 0
	cpu1 := cpuTime()
	for _, s := range samples {
		t0 := time.Now()
		ms, err := catalog.Lookup(ctx, c, s.e.ChainIDs, s.e.BlobChainIDs)
		lat = append(lat, time.Since(t0))
		if err != nil {
			return err
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
	lookupCPU := (cpuTime() - cpu1) / time.Duration(len(lat))
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	fmt.Printf("store=%s images=%d batch=%d load average at start %s\n", name, n, batch, loadAvg())
	fmt.Printf("  import: %.0f images/s wall in %.1fs (target >= %.0f/s: %.2fx); %.0f images per CPU-second of this process (%.2fx)\n",
		rate, elapsed.Seconds(), targetImportRate, rate/targetImportRate, cpuRate, cpuRate/targetImportRate)
	fmt.Printf("  base lookup (%d random images, both chains): p50 %s, p99 %s wall (target p99 <= %s: %.2fx of the limit); %s CPU per lookup in this process\n",
		len(lat), p50.Round(time.Microsecond), p99.Round(time.Microsecond), targetLookupP99, float64(p99)/float64(targetLookupP99), lookupCPU.Round(time.Microsecond))
	fmt.Printf("  wrong answers: %d of %d\n", wrong, len(lat))
	return nil
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
