// Package testenv finds the shared fixtures and the real services
// (registry, dockerd, podman, BuildKit, PostgreSQL) that scripts/test.sh
// starts on 127.0.0.1, for tests. Test-only.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Shared returns ../shared beside the repo root, or skips the test with a
// clear message when it is absent.
func Shared(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("STRATA_SHARED")
	if dir == "" {
		dir = filepath.Join(Root(), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "fixtures")); err != nil {
		msg := fmt.Sprintf("shared fixtures not found at %s (place the shared/ folder beside the repo or set STRATA_SHARED)", dir)
		if os.Getenv("STRATA_REQUIRE_SERVICES") == "1" {
			// The test command promises the whole suite ran: a missing
			// shared/ must not turn half of it into quiet skips.
			t.Fatal(msg + "; STRATA_REQUIRE_SERVICES=1 requires them")
		}
		t.Skip(msg)
	}
	return dir
}

// Fixtures returns ../shared/fixtures, or skips.
func Fixtures(t testing.TB) string {
	t.Helper()
	return filepath.Join(Shared(t), "fixtures")
}

// Testdata returns the repo's testdata directory.
func Testdata() string { return filepath.Join(Root(), "testdata") }

// Service returns the value of a service variable set by scripts/test.sh
// (STRATA_TEST_REGISTRY, STRATA_TEST_DOCKER_HOST, …). When it is unset the
// test is skipped — unless STRATA_REQUIRE_SERVICES=1 (set by the test
// command and CI), where a missing service is a failure, so a green CI run
// cannot hide a service that never started.
func Service(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("STRATA_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set but STRATA_REQUIRE_SERVICES=1: scripts/test.sh should have started it", name)
		}
		t.Skipf("%s not set: run the tests through scripts/test.sh to start the real service", name)
	}
	return v
}

// Run runs a command, failing the test with its output if it fails.
func Run(t testing.TB, name string, args ...string) { t.Helper(); run(t, name, args...) }
