package catalogtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-tool/strata/catalog"
	"github.com/strata-tool/strata/catalog/synth"
)

const (
	envSpec  = "STRATA_CATALOGTEST_IMPORT_SPEC"
	envFile  = "STRATA_CATALOGTEST_IMPORT_FILE"
	envBatch = "STRATA_CATALOGTEST_IMPORT_BATCH"
)

// Main must be called from the store package's TestMain: when the test
// binary is re-executed as the import subprocess of KillDuringImport, it
// runs the import and exits instead of running tests.
func Main(reopen func(ctx context.Context, spec string) (catalog.Catalog, error)) {
	spec := os.Getenv(envSpec)
	if spec == "" {
		return
	}
	ctx := context.Background()
	c, err := reopen(ctx, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "import helper:", err)
		os.Exit(3)
	}
	f, err := os.Open(os.Getenv(envFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, "import helper:", err)
		os.Exit(3)
	}
	var batch int
	fmt.Sscan(os.Getenv(envBatch), &batch)
	if _, err := catalog.Import(ctx, c, f, batch); err != nil {
		fmt.Fprintln(os.Stderr, "import helper:", err)
		os.Exit(4)
	}
	os.Exit(0)
}

// writeExport writes n synthetic entries in the export format.
func writeExport(t *testing.T, path string, ents []catalog.Entry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, `{"strataCatalog":%d,"entries":[`, catalog.FormatVersion)
	for i, e := range ents {
		if i > 0 {
			w.WriteString(",\n")
		}
		b, _ := json.Marshal(e)
		w.Write(b)
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// testKill kills an importing subprocess (SIGKILL, no chance to clean up)
// once some batches have committed, then checks the store is consistent
// — whole batches only, invariants intact — and that re-running the import
// completes it.
func testKill(t *testing.T, s Store) {
	if testing.Short() {
		t.Skip("-short: skipping the subprocess import")
	}
	ctx := context.Background()
	c, spec := s.New(t)
	const n, batch = 12000, 300
	ents := synth.All(5, n)
	file := filepath.Join(t.TempDir(), "export.json")
	writeExport(t, file, ents)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSpec+"="+spec, envFile+"="+file, envBatch+fmt.Sprint("=", batch))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var before int
	for time.Now().Before(deadline) {
		before, _ = c.Count(ctx)
		if before >= 3*batch {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill import: %v", err)
	}
	cmd.Wait()
	// A fresh handle, as after a restart.
	c2, err := s.Reopen(ctx, spec)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer c2.Close()
	after, err := c2.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the import at %d/%d entries (%d seen before the kill)", after, n, before)
	if after == n {
		t.Log("the import finished before the kill; consistency is still checked")
	}
	if after%batch != 0 {
		t.Errorf("%d entries after the kill: not a whole number of %d-entry batches", after, batch)
	}
	check(t, c2)
	// Every committed entry is whole: it is found by its own chains.
	got, err := c2.List(ctx, catalog.Filter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		ms, err := catalog.Lookup(ctx, c2, e.ChainIDs, e.BlobChainIDs)
		if err != nil || len(ms) == 0 || ms[0].Layers != e.Layers() {
			t.Fatalf("entry %s not found by its own chains after the kill: %v", e.Ref(), err)
		}
	}
	// Resume: the same import again completes the catalog.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := catalog.Import(ctx, c2, f, batch); err != nil {
		t.Fatalf("resume import: %v", err)
	}
	if got, _ := c2.Count(ctx); got != n {
		t.Errorf("after resuming, %d entries, want %d", got, n)
	}
	check(t, c2)
}
