#!/usr/bin/env bash
# registry-metadata.sh — issue 2's benchmark, run by hand (not in CI): how
# much does strata need from a registry to show an image's layers and
# Dockerfile, beside the limit (`crane manifest` + `crane config`: nothing
# but the two metadata documents) and `crane pull` (what every pull-based
# peer — dfimage, Dedockify, Whaler, dive, container-diff — must do first).
#
# Builds BIG of ../shared/bench/big (FROM scratch + busybox, 8 layers, about
# 1 GiB, 459 MB compressed) with dockerd's classic builder, pushes it to the
# registry, then times each command RUNS times (whole processes, warm cache)
# and prints medians of wall time, CPU (user+sys) and peak RSS from
# /usr/bin/time -v, strata's request count and bytes received (its hidden
# --http-stats flag), and the ratios against the limit.
# Targets (issue 2): wall within 1.5x of the limit, <= 4 requests,
# <= 16 KB received.
#
# Usage: bench/registry-metadata.sh
# Env:
#   DOCKER_HOST   the dockerd to build with (default: STRATA_TEST_DOCKER_HOST)
#   REGISTRY      registry host:port (default: STRATA_TEST_REGISTRY, else 127.0.0.1:5000)
#   RUNS          runs per command (default 9)
#   STRATA_SHARED the shared folder (default ../shared beside the repo)
# Needs: docker CLI, crane (install-deps.sh puts it in $STRATA_TOOLS/bin),
# GNU time (apt-get install time), go.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
SHARED=${STRATA_SHARED:-$ROOT/../shared}
export PATH="${STRATA_TOOLS:-$HOME/.cache/strata/tools}/bin:$PATH"
export DOCKER_HOST=${DOCKER_HOST:-${STRATA_TEST_DOCKER_HOST:-}}
REG=${REGISTRY:-${STRATA_TEST_REGISTRY:-127.0.0.1:5000}}
RUNS=${RUNS:-9}
REF=$REG/perf/big:1

log() { printf 'registry-metadata: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -n $DOCKER_HOST ]] || die "set DOCKER_HOST (or source a services env with STRATA_TEST_DOCKER_HOST)"
[[ -f $SHARED/bench/big/Dockerfile ]] || die "no $SHARED/bench/big/Dockerfile (set STRATA_SHARED)"
[[ -x /usr/bin/time ]] || die "GNU time missing: apt-get install time"
command -v crane >/dev/null || die "crane not on PATH: run scripts/install-deps.sh"
[[ -x /bin/busybox ]] || die "/bin/busybox missing: apt-get install busybox-static"

work=$(mktemp -d /tmp/strata-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# ---- BIG, built once (the classic builder's cache makes reruns seconds) ----------
mkdir -p "$work/ctx"
cp "$SHARED/bench/big/Dockerfile" /bin/busybox "$work/ctx/"
log "building $REF with the classic builder (about 35 s cold)"
DOCKER_BUILDKIT=0 docker build -q -t "$REF" "$work/ctx" >/dev/null
docker push -q "$REF" >/dev/null
log "pushed $REF"

log "building strata"
go build -o "$work/strata" ./cmd/strata
STRATA=$work/strata
has_dockerfile=0
"$STRATA" dockerfile --help >/dev/null 2>&1 && has_dockerfile=1

# measure NAME CMD... — runs CMD RUNS times; appends "wall cpu rss_kib
# requests bytes" per run to $work/NAME.runs. GNU time's wall and CPU have
# only centisecond resolution (the limit takes ~0.02 s), so wall and CPU come
# from bash's `time` (milliseconds, getrusage of the children; it also counts
# the GNU time wrapper, about a millisecond, the same for every row) and only
# the peak RSS from /usr/bin/time -v. strata's --http-stats line lands on
# stderr.
measure() {
	local name=$1 i t
	shift
	: >"$work/$name.runs"
	"$@" >/dev/null 2>&1 || die "$name failed: $*" # warm-up, and fail early
	for ((i = 0; i < RUNS; i++)); do
		t=$( { TIMEFORMAT='%3R %3U %3S'; time /usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; } 2>&1) ||
			die "$name failed: $(cat "$work/stderr")"
		awk -v t="$t" -v stats="$(grep -E '^http: ' "$work/stderr" | tail -1)" '
			/Maximum resident/ { rss = $NF }
			END {
				split(t, p, " ")
				req = "-"; bytes = "-"
				if (match(stats, /[0-9]+ requests/)) req = substr(stats, RSTART, RLENGTH - 9)
				if (match(stats, /[0-9]+ bytes/)) bytes = substr(stats, RSTART, RLENGTH - 6)
				printf "%.3f %.3f %d %s %s\n", p[1], p[2] + p[3], rss, req, bytes
			}' "$work/time" >>"$work/$name.runs"
	done
}

# median FILE COLUMN
median() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
sum_medians() { # COLUMN FILE... — the limit is two processes run one after the other
	local c=$1 total=0 m
	shift
	for f in "$@"; do
		m=$(median "$f" "$c")
		total=$(awk -v a="$total" -v b="$m" 'BEGIN { print a + b }')
	done
	echo "$total"
}

log "timing, $RUNS runs each"
measure crane-manifest crane manifest "$REF"
measure crane-config crane config "$REF"
measure crane-pull crane pull "$REF" "$work/pull.tar"
measure strata-layers "$STRATA" --http-stats layers "$REF"
((has_dockerfile)) && measure strata-dockerfile "$STRATA" --http-stats dockerfile "$REF"

# Bytes the limit is served: the manifest and the config, exactly.
limit_bytes=$(($(crane manifest "$REF" | wc -c) + $(crane config "$REF" | wc -c)))
pull_bytes=$(crane manifest "$REF" | awk '/"size"/ { gsub(/[^0-9]/, "", $2); s += $2 } END { print s }')

lw=$(sum_medians 1 "$work/crane-manifest.runs" "$work/crane-config.runs")
lc=$(sum_medians 2 "$work/crane-manifest.runs" "$work/crane-config.runs")
lr=$(awk 'BEGIN { a = ARGV[1]; b = ARGV[2]; print (a > b) ? a : b }' "$(median "$work/crane-manifest.runs" 3)" "$(median "$work/crane-config.runs" 3)")

printf '\nBIG = %s, medians of %d runs, registry on %s\n\n' "$REF" "$RUNS" "$REG"
printf '%-32s %8s %8s %9s %9s %11s %9s\n' what wall_s cpu_s rss_MiB requests bytes wall/limit
row() { # LABEL WALL CPU RSS_KIB REQUESTS BYTES
	printf '%-32s %8.3f %8.3f %9.1f %9s %11s %8.2fx\n' "$1" "$2" "$3" "$(awk -v k="$4" 'BEGIN { print k / 1024 }')" "$5" "$6" \
		"$(awk -v a="$2" -v b="$lw" 'BEGIN { print (b > 0) ? a / b : 0 }')"
}
row "crane manifest + config (limit)" "$lw" "$lc" "$lr" - "$limit_bytes"
# The limit is two processes; one alone shows what a single process start
# costs here, which strata (one process) does not pay twice.
row "  of which crane manifest alone" "$(median "$work/crane-manifest.runs" 1)" "$(median "$work/crane-manifest.runs" 2)" "$(median "$work/crane-manifest.runs" 3)" - -
row "crane pull (pull-based peers)" "$(median "$work/crane-pull.runs" 1)" "$(median "$work/crane-pull.runs" 2)" "$(median "$work/crane-pull.runs" 3)" - "$pull_bytes"
verdicts=()
for v in strata-layers strata-dockerfile; do
	[[ -f $work/$v.runs ]] || continue
	w=$(median "$work/$v.runs" 1)
	req=$(median "$work/$v.runs" 4)
	by=$(median "$work/$v.runs" 5)
	row "${v/-/ }" "$w" "$(median "$work/$v.runs" 2)" "$(median "$work/$v.runs" 3)" "$req" "$by"
	verdicts+=("$(awk -v w="$w" -v l="$lw" -v r="$req" -v b="$by" -v n="${v/-/ }" 'BEGIN {
		printf "%s: wall %.2fx the limit (target <= 1.5x: %s), %s requests (target <= 4: %s), %s bytes (target <= 16384: %s)",
			n, w / l, (w / l <= 1.5) ? "met" : "MISSED", r, (r <= 4) ? "met" : "MISSED", b, (b <= 16384) ? "met" : "MISSED" }')")
done
((has_dockerfile)) || verdicts+=("strata dockerfile: verb not present in this build; not timed")
printf '\n'
printf '%s\n' "${verdicts[@]}"
printf 'bytes: strata layers received %s of the %s the limit is served and the %s crane pull is\n' \
	"$(median "$work/strata-layers.runs" 5)" "$limit_bytes" "$pull_bytes"
