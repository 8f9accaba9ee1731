#!/usr/bin/env bash
# secrets.sh — issue 10's benchmark, run by hand: `strata secrets` on BIG
# (shared/bench) from the docker save tar and from the registry, a first
# scan (empty layer-index cache: every layer is indexed, candidate files
# scanned in the same pass) and a second scan (cached index: only the
# candidate files are read), beside one decompression pass of the layers
# (bench/decompress: fetch or read each layer once, gunzip, walk the tar,
# read every file; no digest checks, no index) and beside `strata files
# --no-cache` (the index pass alone). Wall, CPU, peak RSS, bytes read.
#
# Usage: bench/build-big.sh first (same env), then
#        bench/secrets.sh [RUNS]      (RUNS default 3; medians)
# Env:   STRATA_BENCH_DIR, STRATA_BENCH_REGISTRY as for build-big.sh;
#        STRATA_BIN to time a prebuilt strata instead of building ./cmd/strata
#
# Bytes read: from the registry, --http-stats counts every byte received;
# from the tar, strace sums what every read syscall returned (the index
# cache's own files included).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${STRATA_BENCH_DIR:-$HOME/.cache/strata/bench}
RUNS=${1:-3}

log() { printf 'bench/secrets: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_big
for t in strace jq python3; do command -v "$t" >/dev/null || die "$t is required"; done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_strata "$work"
go build -o "$work/decompress" ./bench/decompress

# measure NAME FRESH CMD...: runs CMD RUNS times (FRESH=1: each run with an
# empty cache, XDG_CACHE_HOME=$work/cache-NAME) and writes the median
# wall, CPU (user+sys) and peak RSS to $work/NAME.median; the last run's
# stdout/stderr stay in $work/NAME.out/.err. Exit 1 (secrets found) is a
# result, not a failure.
measure() {
	local name=$1 fresh=$2
	shift 2
	python3 - "$RUNS" "$work/$name" "$fresh" "$work/cache-$name" "$@" <<'PY' || die "$* failed (see $work/$name.err)"
import os, shutil, statistics, subprocess, sys, time
runs, prefix, fresh, cache, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4], sys.argv[5:]
env = dict(os.environ, XDG_CACHE_HOME=cache)
walls, cpus, rsss = [], [], []
for _ in range(runs):
    if fresh:
        shutil.rmtree(cache, ignore_errors=True)
    with open(prefix + ".out", "wb") as out, open(prefix + ".err", "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(1)
    cpus.append(ru.ru_utime + ru.ru_stime)
    rsss.append(ru.ru_maxrss / 1024)
with open(prefix + ".median", "w") as f:
    f.write(f"{statistics.median(walls):.4f} {statistics.median(cpus):.4f} {statistics.median(rsss):.1f}\n")
PY
}

# strace_bytes NAME CMD...: bytes returned by read syscalls in one run, with
# NAME's cache as it is.
strace_bytes() {
	local name=$1
	shift
	XDG_CACHE_HOME=$work/cache-$name strace -f -qq -e trace=read,pread64 -e signal=none -o "$work/$name.strace" "$@" >/dev/null 2>&1 || true
	# Threads interleave: a call can end on a "<... pread64 resumed>" line.
	awk '/read/ && $(NF-1) == "=" && $NF ~ /^[0-9]+$/ { s += $NF } END { print s + 0 }' "$work/$name.strace"
}
http_bytes() { sed -n 's/^http: [0-9]* requests, \([0-9]*\) bytes received$/\1/p' "$work/$1.err"; }

log "one decompression pass (bench/decompress), tar and registry ($RUNS runs each)"
measure dtar 0 "$work/decompress" "$BIG_TAR"
measure dreg 0 "$work/decompress" "$BIG_REF"
log "the index pass alone: strata files --no-cache"
measure ftar 0 "$work/strata" files --no-cache "$BIG_TAR"
measure freg 0 "$work/strata" files --no-cache "$BIG_REF"

log "first scan (empty cache each run)"
measure tar1 1 "$work/strata" -o json secrets "$BIG_TAR"
measure reg1 1 "$work/strata" --http-stats -o json secrets "$BIG_REF"
tar1_bytes=$(strace_bytes tar1-strace "$work/strata" secrets "$BIG_TAR")
log "second scan (the cache the last first scan left)"
rm -rf "$work/cache-tar2" "$work/cache-reg2"
cp -r "$work/cache-tar1" "$work/cache-tar2"
cp -r "$work/cache-reg1" "$work/cache-reg2"
measure tar2 0 "$work/strata" -o json secrets "$BIG_TAR"
measure reg2 0 "$work/strata" --http-stats -o json secrets "$BIG_REF"
tar2_bytes=$(strace_bytes tar2 "$work/strata" secrets "$BIG_TAR")

python3 - "$work" "$RUNS" "$(cat "$work/dtar.out")" "$(cat "$work/dreg.out")" "$tar1_bytes" "$(http_bytes reg1)" \
	"$tar2_bytes" "$(http_bytes reg2)" <<'PY'
import json, sys
work, runs = sys.argv[1], sys.argv[2]
dtar_b, dreg_b, tar1_b, reg1_b, tar2_b, reg2_b = map(int, sys.argv[3:])
def med(n):
    w, c, r = open(f"{work}/{n}.median").read().split()
    return float(w), float(c), float(r)
def kb(n): return f"{n} B" if n < 1000 else f"{n/1000:.1f} KB" if n < 10**6 else f"{n/10**6:.1f} MB"
def ratio(x, y): return f"{x/y:.2f}×" if y else "n/a"
rep = json.load(open(f"{work}/tar2.out"))
files = rep["files"]
cand = files["candidateBytes"]
print(f"strata secrets on BIG — medians of {runs} runs (ratio = strata ÷ one decompression pass)")
print(f"{files['entries']} files in the layers; {files['candidates']} candidates chosen from the index, {kb(cand)}; "
      f"{len(rep['findings'])} findings\n")
fmt = "{:<44} {:>9} {:>9} {:>10} {:>11} {:>8} {:>8}"
print(fmt.format("", "wall", "CPU", "peak RSS", "bytes read", "wall ×", "CPU ×"))
rows = [("docker save tar", "dtar", dtar_b, "ftar", "tar1", tar1_b, "tar2", tar2_b),
        ("registry (127.0.0.1)", "dreg", dreg_b, "freg", "reg1", reg1_b, "reg2", reg2_b)]
for title, d, db, f, one, ob, two, tb in rows:
    dw, dc, dr = med(d)
    print(title)
    print(fmt.format("  one decompression pass (bench/decompress)", f"{dw:.3f} s", f"{dc:.3f} s", f"{dr:.1f} MiB", kb(db), "1.00×", "1.00×"))
    fw, fc, fr = med(f)
    print(fmt.format("  strata files --no-cache (index pass)", f"{fw:.3f} s", f"{fc:.3f} s", f"{fr:.1f} MiB", "", ratio(fw, dw), ratio(fc, dc)))
    w, c, r = med(one)
    print(fmt.format("  strata secrets, first scan", f"{w:.3f} s", f"{c:.3f} s", f"{r:.1f} MiB", kb(ob), ratio(w, dw), ratio(c, dc)))
    print(f"    target ≤ 1.20× one decompression pass: {'MET' if w <= 1.2 * dw else 'MISSED'} ({ratio(w, dw)}; {ratio(w, fw)} of the index pass alone)")
    w, c, r = med(two)
    print(fmt.format("  strata secrets, second scan (cached index)", f"{w:.3f} s", f"{c:.3f} s", f"{r:.1f} MiB", kb(tb), ratio(w, dw), ratio(c, dc)))
    print(f"    bytes read {kb(tb)} vs candidate bytes {kb(cand)}: {ratio(tb, cand)}")
PY
