#!/usr/bin/env bash
# layers.sh — issue 9's benchmark, run by hand: `strata files` and
# `strata waste` on BIG (../shared/bench/big: 8 layers, about 1 GiB, 101,101
# entries) from its docker save tar and from a registry, first run (empty
# cache) and cached run, side by side in the same run with `dive --ci` on the
# same tar and on a `crane pull` tarball (gzip layers), and with the floors:
# `tar -tvf` of every layer, one `gzip -dc` pass over every blob, one Go
# decompression pass (bench/decompress) from the tar and from the registry,
# and Go's sha256 of what strata's digest and diff_id checks hash; from the
# last two, the least a first run that checks what it reads can take on two
# cores (their CPU, halved). Prints medians of wall, CPU (user+sys) and peak RSS, the bytes each run
# fetched, and ratios (strata ÷ peer: below 1 is better).
#
# Usage: bench/build-big.sh first (same env), then
#        bench/layers.sh [RUNS]                    (RUNS default 5; medians)
# Env:   STRATA_BENCH_DIR as for build-big.sh (where big.env and the tars are);
#        STRATA_BENCH_REGISTRY_PORT  port of the registry this script starts
#                                    with scripts/services.sh (default 5310);
#        STRATA_BIN to time a prebuilt strata instead of building ./cmd/strata;
#        STRATA_TOOLS where tools are cached (default ~/.cache/strata/tools):
#        dive v0.13.1 and crane are installed there from the Go module proxy
#        when missing (never committed).
#
# Runs: "first" starts with an empty XDG_CACHE_HOME (every layer is read and
# indexed); "cached" reuses the cache a first run left (strata keeps layer
# indexes by digest and, for waste, the report by layer chain); "cached
# index" (waste only) keeps the indexes but drops the kept reports, so the
# analysis runs again from the indexes alone. Bytes fetched: from the
# registry strata's --http-stats (every byte received); from the tar the sum
# of what read/pread64 returned (strace, one extra run). Peak RSS is
# ru_maxrss of the whole process.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
OUT=${STRATA_BENCH_DIR:-$HOME/.cache/strata/bench}
TOOLS=${STRATA_TOOLS:-$HOME/.cache/strata/tools}
PORT=${STRATA_BENCH_REGISTRY_PORT:-5310}
RUNS=${1:-5}
DIVE_VERSION=v0.13.1
CRANE_VERSION=v0.22.1
export PATH="$TOOLS/bin:$PATH"

log() { printf 'bench/layers: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_big
for t in strace jq python3 tar gzip docker-registry; do command -v "$t" >/dev/null || die "$t is required"; done

# --- tools, pinned, into the tool cache -------------------------------------------
bench_dive
bench_crane

work=$(mktemp -d /tmp/strata-bench-layers.XXXXXX)
run_dir=
cleanup() {
	[[ -n $run_dir ]] && scripts/services.sh stop "$run_dir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
bench_strata "$work"

# --- a registry of our own, on a port of its own ----------------------------------
bench_registry "$work" "$PORT"

# --- inputs of the floors and of dive on gzip layers, made once --------------------
mkdir -p "$work/layers" "$work/blobs"
tar -xf "$BIG_TAR" -C "$work/layers" --wildcards '*/layer.tar' 2>/dev/null || tar -xf "$BIG_TAR" -C "$work/layers"
mapfile -t layer_tars < <(tar -xOf "$BIG_TAR" manifest.json | jq -r '.[0].Layers[]' | sed "s|^|$work/layers/|")
crane manifest --insecure "$REF" >"$work/manifest.json"
mapfile -t blob_digests < <(jq -r '.layers[].digest' "$work/manifest.json")
for d in "${blob_digests[@]}"; do crane blob --insecure "${REF%:*}@$d" >"$work/blobs/${d#sha256:}"; done
crane pull --insecure --format tarball "$REF" "$work/pulled.tar"
blob_bytes=$(jq '[.layers[].size] | add' "$work/manifest.json")
tar_bytes=0
for l in "${layer_tars[@]}"; do tar_bytes=$((tar_bytes + $(stat -c %s "$l"))); done
# dive judges by its defaults; what it prints does not matter here, only
# that it ran (exit 1 = a rule failed).
printf 'rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: disabled\n  highestUserWastedPercent: disabled\n' >"$work/dive-ci"

# measure NAME PREP CMD...: runs CMD RUNS times (PREP, a shell snippet, before
# each: it sets the cache state and is not timed); writes the median wall,
# CPU (user+sys) and peak RSS to $work/NAME.median and keeps the last run's
# stdout/stderr. wait4's rusage gives microseconds.
measure() {
	local name=$1 prep=$2
	shift 2
	python3 - "$RUNS" "$work/$name" "$prep" "$@" <<'PY' || die "$name failed (see $work/$name.err)"
import os, statistics, subprocess, sys, time
runs, prefix, prep, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
walls, cpus, rsss = [], [], []
for _ in range(runs):
    if prep:
        subprocess.run(["bash", "-c", prep], check=True)
    with open(prefix + ".out", "wb") as out, open(prefix + ".err", "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # dive: 1 = a rule failed
        sys.exit(1)
    cpus.append(ru.ru_utime + ru.ru_stime)
    rsss.append(ru.ru_maxrss / 1024)
with open(prefix + ".median", "w") as f:
    f.write(f"{statistics.median(walls):.4f} {statistics.median(cpus):.4f} {statistics.median(rsss):.1f}\n")
PY
}

# http NAME: bytes received, from the last run's --http-stats line.
http() { sed -n 's/^http: [0-9]* requests, \([0-9]*\) bytes received$/\1/p' "$work/$1.err"; }
# syscall_bytes CMD...: what every read/pread64 of one run returned.
syscall_bytes() {
	strace -f -qq -e trace=read,pread64 -e signal=none -o "$work/strace" "$@" >/dev/null 2>&1 || true
	# A read another thread interrupts is logged as "<... read resumed>".
	awk '/(read|pread64)(\(| resumed>)/ { n = $NF; if (n ~ /^[0-9]+$/) s += n } END { print s + 0 }' "$work/strace"
}

S=$work/strata
export XDG_CACHE_HOME=$work/cache
fresh="rm -rf $work/cache"
no_reports="rm -rf $work/cache/strata/waste"

log "floors ($RUNS runs each)"
printf 'for f in "$@"; do tar -tvf "$f" >/dev/null; done\n' >"$work/tar-tv.sh"
measure floor-tar "" bash "$work/tar-tv.sh" "${layer_tars[@]}"
printf 'for f in "$@"; do gzip -dc <"$f" >/dev/null; done\n' >"$work/gunzip.sh"
measure floor-gzip "" bash "$work/gunzip.sh" "$work"/blobs/*
# The floors of a first run that checks what it reads: one decompression
# pass in Go (bench/decompress: read or fetch each blob once, gunzip, walk
# the tar, read every file; no checks) and Go's sha256 of what the checks
# hash (the tar: each layer once, its digest is its diff_id; the registry:
# each blob and each uncompressed layer). Their CPU over 2 cores bounds the
# wall time from below.
go build -o "$work/decompress" ./bench/decompress
measure floor-dtar "" "$work/decompress" "$BIG_TAR"
measure floor-dreg "" "$work/decompress" "$REF"
measure floor-shatar "" "$work/decompress" -sha256 "${layer_tars[@]}"
measure floor-shareg "" "$work/decompress" -sha256 "$work"/blobs/* "${layer_tars[@]}"

log "dive --ci ($RUNS runs each)"
measure dive-tar "" dive --ci --ci-config "$work/dive-ci" --source docker-archive "$BIG_TAR"
measure dive-gz "" dive --ci --ci-config "$work/dive-ci" --source docker-archive "$work/pulled.tar"

for verb in files waste; do
	log "strata $verb from the tar and the registry ($RUNS runs each)"
	measure "$verb-tar-first" "$fresh" "$S" --http-stats "$verb" "$BIG_TAR"
	measure "$verb-tar-cached" "" "$S" --http-stats "$verb" "$BIG_TAR"
	measure "$verb-reg-first" "$fresh" "$S" --http-stats "$verb" "$REF"
	measure "$verb-reg-cached" "" "$S" --http-stats "$verb" "$REF"
done
measure waste-tar-index "$no_reports" "$S" --http-stats waste "$BIG_TAR"
measure waste-reg-index "$no_reports" "$S" --http-stats waste "$REF"

log "bytes read from the tar (strace, one run each)"
rm -rf "$work/cache"
files_tar_first=$(syscall_bytes "$S" files "$BIG_TAR")
files_tar_cached=$(syscall_bytes "$S" files "$BIG_TAR")
rm -rf "$work/cache"
waste_tar_first=$(syscall_bytes "$S" waste "$BIG_TAR")
waste_tar_cached=$(syscall_bytes "$S" waste "$BIG_TAR")
dive_tar=$(syscall_bytes dive --ci --ci-config "$work/dive-ci" --source docker-archive "$BIG_TAR")

wasted=$(jq '.wasted_bytes' <("$S" -o json waste "$BIG_TAR"))

# --- report -----------------------------------------------------------------------
python3 - "$work" "$RUNS" "$blob_bytes" "$tar_bytes" "$wasted" \
	"$(http files-reg-first)" "$(http files-reg-cached)" "$(http waste-reg-first)" "$(http waste-reg-cached)" "$(http waste-reg-index)" \
	"$files_tar_first" "$files_tar_cached" "$waste_tar_first" "$waste_tar_cached" "$dive_tar" <<'PY'
import sys
work, runs = sys.argv[1], sys.argv[2]
(blob, tarb, wasted, frf, frc, wrf, wrc, wri, ftf, ftc, wtf, wtc, dvt) = map(int, sys.argv[3:])
def med(name):
    w, c, r = open(f"{work}/{name}.median").read().split()
    return float(w), float(c), float(r)
def b(n): return f"{n} B" if n < 1000 else f"{n/1000:.1f} kB" if n < 10**6 else f"{n/10**6:.1f} MB"
def ratio(x, y): return "n/a" if not y else f"{x/y:.2f}×"
fmt = "{:<40} {:>9} {:>9} {:>10} {:>12}"
print(f"strata files / waste on BIG — medians of {runs} runs; layers: {b(tarb)} of tar, {b(blob)} of gzip blobs")
print(f"strata waste says {wasted:,} bytes wasted (the true figure: 197,151,959)\n")
print(fmt.format("", "wall", "CPU", "peak RSS", "bytes read"))
rows = [
    ("floor: tar -tvf of every layer", "floor-tar", None),
    ("floor: gzip -dc of every blob", "floor-gzip", None),
    ("floor: one decompression pass, tar (Go)", "floor-dtar", None),
    ("floor: one decompression pass, registry", "floor-dreg", None),
    ("floor: sha256 of what the tar checks hash", "floor-shatar", None),
    ("floor: sha256, the registry checks", "floor-shareg", None),
    ("dive --ci, save tar", "dive-tar", dvt),
    ("dive --ci, crane pull tarball (gzip)", "dive-gz", None),
    ("strata files, tar, first run", "files-tar-first", ftf),
    ("strata files, tar, cached", "files-tar-cached", ftc),
    ("strata files, registry, first run", "files-reg-first", frf),
    ("strata files, registry, cached", "files-reg-cached", frc),
    ("strata waste, tar, first run", "waste-tar-first", wtf),
    ("strata waste, tar, cached", "waste-tar-cached", wtc),
    ("strata waste, tar, cached index only", "waste-tar-index", None),
    ("strata waste, registry, first run", "waste-reg-first", wrf),
    ("strata waste, registry, cached", "waste-reg-cached", wrc),
    ("strata waste, registry, cached index only", "waste-reg-index", wri),
]
m = {}
for label, name, by in rows:
    w, c, r = m[name] = med(name)
    print(fmt.format(label, f"{w:.3f} s", f"{c:.3f} s", f"{r:.1f} MiB", b(by) if by is not None else "–"))
dt, dg = m["dive-tar"], m["dive-gz"]
print("\nratios (strata ÷ dive on the same input: wall, CPU, peak RSS)")
for label, name, d in [("waste, tar, first run", "waste-tar-first", dt), ("waste, tar, cached", "waste-tar-cached", dt),
                       ("waste, registry, first run", "waste-reg-first", dg), ("waste, registry, cached", "waste-reg-cached", dg),
                       ("files, tar, first run", "files-tar-first", dt), ("files, registry, first run", "files-reg-first", dg)]:
    w, c, r = m[name]
    print(f"  {label:<30} {ratio(w, d[0]):>7} {ratio(c, d[1]):>7} {ratio(r, d[2]):>7}")
def verdict(ok): return "MET" if ok else "MISSED"
wt, wr = m["waste-tar-first"], m["waste-reg-first"]
rss = max(m[n][2] for n in ("waste-tar-first", "waste-reg-first", "waste-tar-index", "waste-reg-index"))
cached = max(m["waste-tar-cached"][0], m["waste-reg-cached"][0])
print("\ntargets (issue 9)")
print(f"  waste on the tar ≤ 0.35 s: {wt[0]:.3f} s → {verdict(wt[0] <= .35)}")
print(f"  waste from the registry ≤ 0.6 s: {wr[0]:.3f} s → {verdict(wr[0] <= .6)}")
print(f"  peak RSS ≤ 1/5 of dive's ({dt[2]/5:.1f} MiB): {rss:.1f} MiB → {verdict(rss <= dt[2]/5)}")
print(f"  cached run ≤ 0.05 s, no layer bytes: {cached:.3f} s, registry {b(wrc)} received (the metadata) → {verdict(cached <= .05)}")
def floor(*names): return sum(m[n][1] for n in names) / 2
ft, fr = floor("floor-dtar", "floor-shatar"), floor("floor-dreg", "floor-shareg")
print(f"  floors on 2 cores for a first run that checks what it reads (CPU of one decompression pass + the checks' sha256, halved): "
      f"the tar {ft:.3f} s, the registry {fr:.3f} s; strata checks each layer's digest and diff_id and fingerprints files (xxhash64) for waste")
PY
