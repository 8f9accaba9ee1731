package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// BIG returns the docker save archive of BIG, the benchmark image of
// ../shared/bench/big (8 layers, about 1 GiB, 101,101 entries), as
// bench/build-big.sh leaves it in $STRATA_BENCH_DIR (default
// ~/.cache/strata/bench). When it is not there the test is skipped, unless
// STRATA_TEST_BIG=1: then it is built once, with the test dockerd
// (STRATA_TEST_DOCKER_HOST) and pushed to the test registry, which takes
// about two minutes, and kept for later runs.
func BIG(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("STRATA_BENCH_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("no home directory for the BIG archive: %v", err)
		}
		dir = filepath.Join(home, ".cache", "strata", "bench")
	}
	tar := filepath.Join(dir, "big.tar")
	if _, err := os.Stat(tar); err == nil {
		return tar
	}
	if os.Getenv("STRATA_TEST_BIG") != "1" {
		t.Skipf("BIG is not built (%s): run bench/build-big.sh, or set STRATA_TEST_BIG=1 to build it here (about 2 minutes)", tar)
	}
	docker := Service(t, "STRATA_TEST_DOCKER_HOST")
	reg := Service(t, "STRATA_TEST_REGISTRY")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".big.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tar); err == nil {
		return tar // another test binary built it while this one waited
	}
	cmd := exec.Command(filepath.Join(Root(), "bench", "build-big.sh"))
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+docker, "STRATA_BENCH_REGISTRY="+reg, "STRATA_BENCH_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/build-big.sh: %v\n%s", err, out)
	}
	return tar
}
