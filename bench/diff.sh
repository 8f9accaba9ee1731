#!/usr/bin/env bash
# diff.sh — issue 5's benchmark, run by hand: `strata diff` of BIG vs BIG2
# (shared/bench; BIG2 = BIG + one small layer) at file level from the
# registry and from the two docker save tars, plus a history-only diff from
# the registry. Prints wall, CPU, peak RSS and bytes read beside
# container-diff's figures and the limit from shared/bench/README.md, as
# ratios (strata ÷ peer: below 1 is better).
#
# Usage: bench/build-big.sh first (same env), then
#        DOCKER_HOST=… bench/diff.sh [RUNS]      (RUNS default 5; medians)
# Env:   STRATA_BENCH_DIR, STRATA_BENCH_REGISTRY as for build-big.sh;
#        STRATA_BIN to time a prebuilt strata instead of building ./cmd/strata
#
# Bytes read: from the registry, --http-stats counts every byte received
# (manifests, configs, blobs); from the tars, strace sums what every read
# syscall returned. The differing layers' size is taken from the registry's
# manifests and the tars' manifest.json, not from strata.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${STRATA_BENCH_DIR:-$HOME/.cache/strata/bench}
RUNS=${1:-5}

log() { printf 'bench/diff: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_big
for t in strace jq curl python3; do command -v "$t" >/dev/null || die "$t is required"; done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_strata "$work"

# measure NAME ARGS...: runs strata RUNS times; writes the median wall,
# CPU (user+sys) and peak RSS to $work/NAME.median and keeps the last run's
# stdout/stderr. wait4's rusage gives microseconds where time(1) rounds to
# 10 ms, which is the whole run here.
measure() {
	local name=$1
	shift
	python3 - "$RUNS" "$work/$name" "$work/strata" "$@" <<'PY' || die "strata $* failed (see $work/$name.err)"
import os, statistics, subprocess, sys, time
runs, prefix, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
walls, cpus, rsss = [], [], []
for _ in range(runs):
    with open(prefix + ".out", "wb") as out, open(prefix + ".err", "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1 = "different"
        sys.exit(1)
    cpus.append(ru.ru_utime + ru.ru_stime)
    rsss.append(ru.ru_maxrss / 1024)
with open(prefix + ".median", "w") as f:
    f.write(f"{statistics.median(walls):.4f} {statistics.median(cpus):.4f} {statistics.median(rsss):.1f}\n")
PY
}

# --- the differing layers, measured without strata ------------------------------
accept='application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json'
manifest() { # REF -> manifest JSON
	local host=${1%%/*} rest=${1#*/}
	curl -fsS -H "Accept: $accept" "http://$host/v2/${rest%:*}/manifests/${rest##*:}"
}
manifest "$BIG_REF" >"$work/big.manifest"
manifest "$BIG2_REF" >"$work/big2.manifest"
# Blobs of BIG2 that BIG does not have: what a perfect diff must fetch.
diff_blob_bytes=$(jq -s '[.[0].layers[].digest] as $a | [.[1].layers[] | select(.digest as $d | $a | index($d) | not) | .size] | add // 0' \
	"$work/big.manifest" "$work/big2.manifest")
meta_bytes=$(($(wc -c <"$work/big.manifest") + $(wc -c <"$work/big2.manifest") +
	$(jq '.config.size' "$work/big.manifest") + $(jq '.config.size' "$work/big2.manifest")))
pulled_bytes=$(jq '[.layers[].size] | add' "$work/big2.manifest")
# In the tars: the layer.tar sizes of BIG2's layers above the diff_id prefix
# it shares with BIG (legacy saves name layer directories by v1 IDs, which
# differ for a shared layer that is the top of one image only).
tar -xOf "$BIG_TAR" manifest.json >"$work/big.tarmanifest"
tar -xOf "$BIG2_TAR" manifest.json >"$work/big2.tarmanifest"
tar -xOf "$BIG_TAR" "$(jq -r '.[0].Config' "$work/big.tarmanifest")" >"$work/big.config"
tar -xOf "$BIG2_TAR" "$(jq -r '.[0].Config' "$work/big2.tarmanifest")" >"$work/big2.config"
shared=$(jq -s '[.[0].rootfs.diff_ids, .[1].rootfs.diff_ids] as [$a, $b] | [range(0; [$a, $b] | map(length) | min) | select($a[.] == $b[.])] | length' \
	"$work/big.config" "$work/big2.config")
mapfile -t only2 < <(jq -r --argjson k "$shared" '.[0].Layers[$k:][]' "$work/big2.tarmanifest")
diff_tar_bytes=0
for l in "${only2[@]}"; do
	s=$(tar -tvf "$BIG2_TAR" "$l" | awk '{print $3}')
	diff_tar_bytes=$((diff_tar_bytes + s))
done

# --- runs -------------------------------------------------------------------------
log "file-level diff from the registry ($RUNS runs)"
measure reg --http-stats -o json diff --files "$BIG_REF" "$BIG2_REF"
reg_http=$(sed -n 's/^http: \([0-9]*\) requests, \([0-9]*\) bytes received$/\2/p' "$work/reg.err")
reg_reqs=$(sed -n 's/^http: \([0-9]*\) requests.*/\1/p' "$work/reg.err")
reg_layer=$(jq '.files.read.blobBytes' "$work/reg.out")

log "file-level diff from the docker save tars ($RUNS runs)"
measure tar -o json diff --files "$BIG_TAR" "$BIG2_TAR"
tar_layer=$(jq '.files.read.tarBytes' "$work/tar.out")
strace -f -qq -e trace=read,pread64 -e signal=none -o "$work/strace" "$work/strata" -o json diff --files "$BIG_TAR" "$BIG2_TAR" >/dev/null 2>&1 || true
tar_syscall=$(awk '/(read|pread64)\(/ { n = $NF; if (n ~ /^[0-9]+$/) s += n } END { print s + 0 }' "$work/strace")

log "history-only diff from the registry ($RUNS runs)"
measure hist --http-stats diff "$BIG_REF" "$BIG2_REF"
hist_http=$(sed -n 's/^http: \([0-9]*\) requests, \([0-9]*\) bytes received$/\2/p' "$work/hist.err")

# --- report -----------------------------------------------------------------------
python3 - "$work" "$RUNS" "$reg_http" "$reg_reqs" "$reg_layer" "$tar_layer" "$tar_syscall" "$hist_http" \
	"$diff_blob_bytes" "$diff_tar_bytes" "$meta_bytes" "$pulled_bytes" <<'PY'
import sys
work, runs = sys.argv[1], sys.argv[2]
reg_http, reg_reqs, reg_layer, tar_layer, tar_syscall, hist_http, diff_blob, diff_tar, meta, pulled = map(int, sys.argv[3:])
def med(name):
    w, c, r = open(f"{work}/{name}.median").read().split()
    return float(w), float(c), float(r)
def kb(n): return f"{n} B" if n < 1000 else f"{n/1000:.1f} KB" if n < 10**6 else f"{n/10**6:.1f} MB"
def ratio(x, y):
    if not y: return "n/a"
    r = x / y
    return f"{r:.2f}×" if r >= 0.01 or r == 0 else f"1/{1/r:,.0f}"
rw, rc, rr = med("reg"); tw, tc, tr = med("tar"); hw, hc, hr = med("hist")

print(f"strata diff BIG vs BIG2 — medians of {runs} runs (ratio = strata ÷ peer)")
print(f"differing layers, measured without strata: {kb(diff_blob)} of blobs in the registry, {kb(diff_tar)} of layer tar in the saves;")
print(f"manifests + configs of both: {kb(meta)}; BIG2 in full: {kb(pulled)} of blobs\n")
fmt = "{:<34} {:>9} {:>9} {:>10} {:>12}"
print(fmt.format("", "wall", "CPU", "peak RSS", "bytes read"))
print(fmt.format("files, registry: strata", f"{rw:.3f} s", f"{rc:.3f} s", f"{rr:.1f} MiB", kb(reg_http)))
print(fmt.format("  limit (README)", "0.050 s", "0.036 s", "13.7 MiB", "24.0 KB"))
print(fmt.format("  ratio", ratio(rw, .050), ratio(rc, .036), ratio(rr, 13.7), ratio(reg_http, 24000)))
print(f"  {reg_reqs} requests; layer bytes {kb(reg_layer)} vs differing layers {kb(diff_blob)}: {ratio(reg_layer, diff_blob)} (target ≤ 1.10×)")
print(f"  target: within 2× of the limit's wall → {'MET' if rw <= 2*.050 else 'MISSED'} ({ratio(rw, .050)})")
print(fmt.format("files, docker save tars: strata", f"{tw:.3f} s", f"{tc:.3f} s", f"{tr:.1f} MiB", kb(tar_syscall)))
print(fmt.format("  container-diff --type=file", "40.0 s", "61.9 s", "193.0 MiB", "–"))
print(fmt.format("  ratio", ratio(tw, 40.0), ratio(tc, 61.9), ratio(tr, 193.0), ""))
print(f"  layer tar bytes streamed {kb(tar_layer)} vs differing layers {kb(diff_tar)}: {ratio(tar_layer, diff_tar)} (target ≤ 1.10×);")
print(f"  all read() syscalls (strace; includes indexing both archives): {kb(tar_syscall)}")
print(fmt.format("history only, registry: strata", f"{hw:.3f} s", f"{hc:.3f} s", f"{hr:.1f} MiB", kb(hist_http)))
print(fmt.format("  container-diff --type=history", "30.5 s", "51.3 s", "47.8 MiB", "917.0 MB"))
print(fmt.format("  ratio", ratio(hw, 30.5), ratio(hc, 51.3), ratio(hr, 47.8), ratio(hist_http, 917e6)))
PY
