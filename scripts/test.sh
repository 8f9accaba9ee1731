#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run from traps and step() look unreachable to it
# test.sh — THE test command (README, CI): installs what the tests need,
# starts the real services on 127.0.0.1, builds the test images with every
# builder, then runs go vet and the whole Go test suite with
# STRATA_REQUIRE_SERVICES=1, so a service that never came up fails the run
# instead of skipping quietly. Everything it started is stopped on exit.
#
# Usage: scripts/test.sh [go test flags] [packages]
#   scripts/test.sh                      # everything
#   scripts/test.sh -run Registry ./source/
# Packages default to ./... when none are named.
#
# Env: STRATA_TOOLS (tool cache), STRATA_KEEP_RUN_DIR=1 (keep service state
# and logs after the run), and the port overrides of scripts/services.sh.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd -P)
export STRATA_TOOLS=${STRATA_TOOLS:-$HOME/.cache/strata/tools}
export PATH="$STRATA_TOOLS/bin:$PATH"

START=$SECONDS
SUMMARY=()
FAILED=0

say() { printf '\n=== test.sh: %s\n' "$*" >&2; }
# record NAME STATUS SECONDS
record() { SUMMARY+=("$(printf '%-18s %-8s %5s s' "$1" "$2" "$3")"); }

# step NAME CMD... — runs CMD, records its outcome and time, keeps going so
# the summary shows every failure of the run, not just the first.
step() {
	local name=$1 t0=$SECONDS rc
	shift
	say "$name"
	"$@"
	rc=$?
	if ((rc == 0)); then
		record "$name" ok $((SECONDS - t0))
	else
		record "$name" "FAIL($rc)" $((SECONDS - t0))
		FAILED=1
	fi
	return $rc
}

summary() {
	printf '\n=== test.sh summary\n' >&2
	local line
	for line in "${SUMMARY[@]}"; do printf '  %s\n' "$line" >&2; done
	printf '  %-18s %-8s %5s s\n' total "$([[ $FAILED == 0 ]] && echo ok || echo FAIL)" $((SECONDS - START)) >&2
	if [[ -n $TALLY ]]; then
		printf '  go test %s\n' "$PKG_TALLY" >&2
		# Last, alone on its line: the plain tally CI reads.
		printf 'tests: %s\n' "$TALLY"
	fi
	return 0
}

RUN_DIR=
PKG_TALLY=
TALLY=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $RUN_DIR ]]; then
		local t0=$SECONDS
		say "stopping services"
		if STRATA_RUN_DIR=$RUN_DIR bash "$ROOT/scripts/services.sh" stop; then
			record "services stop" ok $((SECONDS - t0))
		else
			record "services stop" FAIL $((SECONDS - t0))
			FAILED=1
		fi
	fi
	summary
	((FAILED)) && rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'FAILED=1; record interrupted FAIL 0; exit 130' INT TERM

# ---- go test arguments: default the packages to ./... ---------------------------
ARGS=("$@")
has_pkg=0
for a in "${ARGS[@]}"; do
	[[ $a =~ ^\.\.?(/|$) || $a == github.com/strata-tool/strata* ]] && has_pkg=1
done
((has_pkg)) || ARGS+=(./...)

# ---- install and start ---------------------------------------------------------------
step install-deps bash scripts/install-deps.sh || exit 1

RUN_DIR=$(mktemp -d /tmp/strata-test.XXXXXX)
touch "$RUN_DIR/.mktemp" # services.sh stop removes it unless STRATA_KEEP_RUN_DIR=1
export STRATA_RUN_DIR=$RUN_DIR
step "services start" bash scripts/services.sh start >/dev/null || exit 1
# shellcheck source=/dev/null
source "$RUN_DIR/env"

if [[ -f scripts/build-test-images.sh ]]; then
	step build-test-images bash scripts/build-test-images.sh
else
	say "scripts/build-test-images.sh not present: builder-built images are not available"
	record build-test-images absent 0
fi

# ---- check -------------------------------------------------------------------------------
step "go vet" go vet ./...
step staticcheck staticcheck ./...

# go test runs with -v so every test's outcome can be counted; the console
# shows it without the per-test RUN/PASS chatter, the full log is kept.
mkdir -p .run
GOTEST_LOG="$ROOT/.run/go-test.log"
# STRATA_TEST_BIG=1: the waste figures are checked on BIG (../shared/bench),
# built once with the test dockerd (about two minutes) and kept in
# ~/.cache/strata/bench for later runs.
gotest() {
	STRATA_REQUIRE_SERVICES=1 STRATA_TEST_BIG=${STRATA_TEST_BIG:-1} go test -v -count=1 -timeout 40m "${ARGS[@]}" 2>&1 |
		tee "$GOTEST_LOG" | grep --line-buffered -vE '^[[:space:]]*(=== (RUN|PAUSE|CONT|NAME)|--- PASS:)'
	local rc=${PIPESTATUS[0]}
	local passed failed skipped pkgfail
	passed=$(grep -cE '^[[:space:]]*--- PASS:' "$GOTEST_LOG")
	failed=$(grep -cE '^[[:space:]]*--- FAIL:' "$GOTEST_LOG")
	skipped=$(grep -cE '^[[:space:]]*--- SKIP:' "$GOTEST_LOG")
	# A package that fails to build, panics or times out may have no
	# "--- FAIL" line: count it so the tally never reads clean when go test
	# did not.
	pkgfail=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]+[[:space:]]' "$GOTEST_LOG")
	if ((rc != 0 && failed == 0)); then failed=$((pkgfail > 0 ? pkgfail : 1)); fi
	TALLY="$passed passed, $failed failed, $skipped skipped"
	PKG_TALLY="packages: $(grep -c '^ok ' "$GOTEST_LOG") ok, $pkgfail failed, $(grep -c '\[no test files\]' "$GOTEST_LOG") without test files (full log: .run/go-test.log)"
	return "$rc"
}
step "go test" gotest
exit 0 # cleanup turns FAILED into the exit status
