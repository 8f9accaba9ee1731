#!/usr/bin/env bash
# serve.sh — issue 12's benchmark, run by hand (not in CI): `strata serve`
# under load on 127.0.0.1, bounded in requests and time.
#
#   cached   the version page, its API JSON and its image badge, each
#            served from the server's cache: wrk, 2 threads, 32
#            connections, DURATION seconds each — req/s, p50, p99.
#   cold     the page of an image the server has not seen (a fresh server
#            per run, nothing cached, nothing catalogued): latency, and
#            the requests and bytes it fetched from the registry (from
#            /metrics) — beside `strata dockerfile` on the same image
#            (wall time, and its --http-stats).
#
# Targets (issue 12): cached >= 2,000 req/s with p99 < 50 ms on 2 cores; a
# cold page within 2x `strata dockerfile` on the same image.
#
# Usage: bench/serve.sh
# Env:
#   REGISTRY  registry host:port (default: STRATA_TEST_REGISTRY, else 127.0.0.1:5000)
#   IMAGE     image in it (default: $REGISTRY/strata-test/child:buildkit,
#             which scripts/build-test-images.sh pushes)
#   DURATION  seconds of load per cached target (default 10)
#   RUNS      cold runs (default 7)
# Needs: wrk (apt-get install wrk; install-deps.sh installs it), curl, go.
set -euo pipefail

cd "$(dirname "$0")/.."
REG=${REGISTRY:-${STRATA_TEST_REGISTRY:-127.0.0.1:5000}}
IMAGE=${IMAGE:-$REG/strata-test/child:buildkit}
DURATION=${DURATION:-10}
RUNS=${RUNS:-7}

log() { printf 'serve-bench: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v wrk >/dev/null || die "wrk missing: apt-get install wrk"
command -v curl >/dev/null || die "curl missing"
curl -fsS "http://$REG/v2/" >/dev/null || die "no registry at $REG"

work=$(mktemp -d /tmp/strata-serve-bench.XXXXXX)
pid=
stop() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$work"' EXIT

log "building strata"
go build -o "$work/strata" ./cmd/strata
STRATA=$work/strata
"$STRATA" dockerfile "$IMAGE" >/dev/null || die "$IMAGE cannot be read; run scripts/build-test-images.sh"

port=$((20000 + RANDOM % 20000))
start() {
	rm -f "$work/c.db"*
	"$STRATA" serve --addr "127.0.0.1:$port" --catalog "$work/c.db" --allow-registry "$REG" \
		--workers 0 --rate-limit -1 --log-level warn 2>>"$work/serve.log" &
	pid=$!
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return
		sleep 0.05
	done
	die "server did not start: $(cat "$work/serve.log")"
}
metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ---- cold: a fresh server per run ----------------------------------------------
log "cold page of $IMAGE, $RUNS fresh servers"
: >"$work/cold"
for ((i = 0; i < RUNS; i++)); do
	start
	t=$(curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/images/$IMAGE")
	echo "$t $(metric 'strata_upstream_fetched_total{unit="requests"}') $(metric 'strata_upstream_fetched_total{unit="bytes"}')" >>"$work/cold"
	stop
done
log "strata dockerfile on the same image, $RUNS runs"
: >"$work/cli"
for ((i = 0; i < RUNS; i++)); do
	s=$(date +%s.%N)
	"$STRATA" dockerfile --http-stats "$IMAGE" >/dev/null 2>"$work/cli.err"
	e=$(date +%s.%N)
	echo "$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }') $(awk '/^http:/ { print $2, $4 }' "$work/cli.err")" >>"$work/cli"
done

# ---- cached: one server, warmed ------------------------------------------------
start
declare -A url=(
	[page]="/images/$IMAGE"
	[api]="/v1/images/$IMAGE"
	[badge]="/badges/image/$IMAGE.svg"
)
for k in page api badge; do
	curl -fsS -o /dev/null "http://127.0.0.1:$port${url[$k]}" || die "GET ${url[$k]} failed"
	log "wrk ${url[$k]} for ${DURATION}s"
	wrk -t2 -c32 -d"${DURATION}s" --timeout 5s --latency "http://127.0.0.1:$port${url[$k]}" >"$work/wrk.$k"
	grep -q 'Non-2xx' "$work/wrk.$k" && die "non-2xx responses under load: $(cat "$work/wrk.$k")"
done
stop

# wrk prints latencies as 1.23ms / 456.00us / 1.02s; in ms:
ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }'; }
printf '\n%-28s %12s %10s %10s  %s\n' "target" "req/s" "p50 ms" "p99 ms" "verdict (>= 2000 req/s, p99 < 50 ms)"
for k in page api badge; do
	rps=$(awk '/^Requests\/sec/ { print $2 }' "$work/wrk.$k")
	p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk.$k" | ms)
	p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.$k" | ms)
	ok=$(awk -v r="$rps" -v p="$p99" 'BEGIN { print (r >= 2000 && p < 50) ? "ok" : "MISSED" }')
	printf '%-28s %12.0f %10s %10s  %s\n' "cached $k" "$rps" "$p50" "$p99" "$ok"
done
cold=$(awk '{ print $1 * 1000 }' "$work/cold" | median)
cold_req=$(awk '{ print $2 }' "$work/cold" | median)
cold_bytes=$(awk '{ print $3 }' "$work/cold" | median)
cli=$(awk '{ print $1 * 1000 }' "$work/cli" | median)
cli_req=$(awk '{ print $2 }' "$work/cli" | median)
cli_bytes=$(awk '{ print $3 }' "$work/cli" | median)
printf '\n%-28s %12s %10s %10s  %s\n' "cold (median of $RUNS)" "wall ms" "requests" "bytes" ""
printf '%-28s %12.1f %10.0f %10.0f\n' "serve: uncatalogued page" "$cold" "$cold_req" "$cold_bytes"
printf '%-28s %12.1f %10.0f %10.0f\n' "strata dockerfile" "$cli" "$cli_req" "$cli_bytes"
awk -v a="$cold" -v b="$cli" 'BEGIN { r = a / b; printf "%-28s %12.2fx %s\n", "ratio", r, (r <= 2) ? "ok (<= 2x)" : "MISSED (> 2x)" }'
