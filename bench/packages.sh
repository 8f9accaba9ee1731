#!/usr/bin/env bash
# packages.sh — issue 14's benchmark, run by hand: `strata packages` on a
# Debian-based image in a registry, cold (empty layer index cache) and with
# the index cached, beside syft on the same image. Prints wall, peak RSS
# and bytes fetched (medians of RUNS), the ratios, and the limit a cold run
# is held to: the compressed size of the layers that hold package databases.
#
# Usage: bench/packages.sh [IMAGE] [RUNS]
#   IMAGE  a registry reference (default: the debian package test image the
#          packages tests build, $STRATA_TEST_REGISTRY/strata-test/pkg:debian-v1)
#   RUNS   default 3
# Env:   STRATA_BIN (a prebuilt strata), SYFT (default: syft on PATH, as
#        scripts/install-deps.sh builds it into the tool cache)
#
# Bytes: strata's --http-stats counts every byte the registry sent
# (manifests, config, layer ranges); syft pulls every layer blob whole,
# so its bytes are the manifest's layer sizes (syft prints no count).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'bench/packages: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

IMAGE=${1:-${STRATA_TEST_REGISTRY:-127.0.0.1:5000}/strata-test/pkg:debian-v1}
RUNS=${2:-3}
export PATH=${STRATA_TOOLS:-$HOME/.cache/strata/tools}/bin:$PATH
SYFT=${SYFT:-$(command -v syft || true)}
[[ -x $SYFT ]] || die "syft not found (scripts/install-deps.sh builds it)"
for t in jq python3 /usr/bin/time; do command -v "$t" >/dev/null || die "$t is required"; done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_strata "$work"

# run NAME CMD...: one timed run; appends "wall rss_kb bytes" to $work/NAME.
run() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" || die "$* failed: $(tail -3 "$work/$name.err")"
	local bytes
	bytes=$(sed -n 's/^http: [0-9]* requests, \([0-9]*\) bytes received$/\1/p' "$work/$name.err")
	echo "$(cat "$work/time") ${bytes:-0}" >>"$work/$name"
}

export SYFT_REGISTRY_INSECURE_USE_HTTP=true SYFT_CHECK_FOR_APP_UPDATE=false
for i in $(seq "$RUNS"); do
	cache=$work/cache$i
	XDG_CACHE_HOME=$cache run cold "$work/strata" packages --http-stats "$IMAGE"
	XDG_CACHE_HOME=$cache run cached "$work/strata" packages --http-stats "$IMAGE"
	# The layer index kept, strata's per-file package cache dropped: the
	# database files are range-read again.
	rm -rf "$cache/strata/packages"
	XDG_CACHE_HOME=$cache run indexonly "$work/strata" packages --http-stats "$IMAGE"
	run syft "$SYFT" scan -q "registry:$IMAGE" -o json
done

# The limit: compressed sizes of the layers that hold package databases.
XDG_CACHE_HOME=$work/cache1 "$work/strata" -o json packages "$IMAGE" >"$work/pkgs.json"
"$work/strata" -o json layers "$IMAGE" >"$work/layers.json"
all=$(jq '[.steps[] | select(.layer != null) | .size] | add' "$work/layers.json")
limit=$(jq -n --slurpfile p "$work/pkgs.json" --slurpfile l "$work/layers.json" '
  ([$p[0].databases[].layers[]] + [$p[0].packages[].history[].layer]) | unique as $held
  | [$l[0].steps[] | select(.layer != null and (.layer as $x | $held | index($x))) | .size] | add')
npk=$(jq '.packages | length' "$work/pkgs.json")
nsyft=$(jq '.artifacts | length' "$work/syft.out")

python3 - "$work" "$all" "$limit" "$IMAGE" "$npk" "$nsyft" <<'PY'
import statistics, sys
work, all_layers, limit, image, npk, nsyft = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
def med(name):
    rows = [list(map(float, l.split())) for l in open(f"{work}/{name}")]
    return [statistics.median(c) for c in zip(*rows)]
cold, cached, idx, syft = med("cold"), med("cached"), med("indexonly"), med("syft")
syft[2] = all_layers
print(f"image {image}: strata {npk} packages, syft {nsyft} artifacts")
print("strata index = layer index cached, database files read again; strata cached = index and per-file package cache kept")
print(f"{'run':<16}{'wall s':>8}{'peak RSS MB':>13}{'bytes fetched':>16}")
for n, r in (("strata cold", cold), ("strata index", idx), ("strata cached", cached), ("syft", syft)):
    print(f"{n:<16}{r[0]:>8.2f}{r[1]/1024:>13.1f}{int(r[2]):>16,}")
print(f"syft / strata index:  {syft[0]/max(idx[0],0.01):.1f}x faster (target >= 5x)")
print(f"syft / strata cached: {syft[0]/max(cached[0],0.01):.1f}x faster")
print(f"syft / strata cold:   {syft[0]/max(cold[0],0.01):.1f}x faster")
print(f"cold bytes {int(cold[2]):,} vs layers holding package databases {limit:,}: "
      f"{cold[2]/limit:.3f} of the limit (target <= 1); all layers {all_layers:,}")
PY
