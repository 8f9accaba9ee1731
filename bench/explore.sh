#!/usr/bin/env bash
# explore.sh — issue 11's benchmark, run by hand: `strata explore` on BIG
# (../shared/bench/big: 8 layers, about 1 GiB, 101,101 entries) from its
# docker save tar and from a registry of its own, first run (empty index
# cache) and cached run, side by side with dive v0.13.1 on the same tar,
# each measured in a real terminal (tmux, 80×24) the way a user meets it:
#
#   first paint   from starting the command to the layer list on screen
#   full tree     to the whole tree loaded (strata: the title's path count;
#                 dive: its UI appears only once everything is analysed)
#   key latency   from a key sent to the screen changing: Down and PgDn in
#                 the file tree, typing a filter, Up in the layer list
#                 (medians; the screen is polled with capture-pane, whose
#                 own cost — printed as "poll" — bounds the resolution)
#   peak RSS      VmHWM of the process, read before quitting
#
# Usage: bench/build-big.sh first (same env), then
#        bench/explore.sh [RUNS]                   (RUNS default 3; medians)
# Env:   STRATA_BENCH_DIR as for build-big.sh; STRATA_BENCH_REGISTRY_PORT
#        (default 5311) for the registry started with scripts/services.sh;
#        STRATA_BIN to time a prebuilt strata; STRATA_TOOLS (default
#        ~/.cache/strata/tools): dive v0.13.1 and crane are installed there
#        from the Go module proxy when missing.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${STRATA_BENCH_DIR:-$HOME/.cache/strata/bench}
TOOLS=${STRATA_TOOLS:-$HOME/.cache/strata/tools}
PORT=${STRATA_BENCH_REGISTRY_PORT:-5311}
RUNS=${1:-3}
DIVE_VERSION=v0.13.1
CRANE_VERSION=v0.22.1
export PATH="$TOOLS/bin:$PATH"

log() { printf 'bench/explore: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_big
for t in tmux python3 docker-registry; do command -v "$t" >/dev/null || die "$t is required"; done

bench_dive
bench_crane

work=$(mktemp -d /tmp/strata-bench-explore.XXXXXX)
run_dir=
cleanup() {
	for s in /tmp/tmux-"$(id -u)"/strata-bench-$$-*; do
		[[ -e $s ]] && { tmux -S "$s" kill-server 2>/dev/null || true; rm -f "$s"; }
	done
	[[ -n $run_dir ]] && scripts/services.sh stop "$run_dir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
bench_strata "$work"

bench_registry "$work" "$PORT"

python3 - "$work" "$RUNS" "strata-bench-$$" "$work/strata" "$(command -v dive)" "$BIG_TAR" "$REF" <<'PY'
import os, shutil, statistics, subprocess, sys, time
work, runs, sock, strata, dive, tar, ref = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]

# Each session gets a tmux server of its own: killing one and starting the
# next on the same socket races with the old server's exit.
cur = [sock + "-0"]
def tmux(*a):
    return subprocess.run(["tmux", "-L", cur[0], "-f", "/dev/null", *a], capture_output=True, text=True).stdout

def kill_server():
    tmux("kill-server")
    try:
        os.remove(f"/tmp/tmux-{os.getuid()}/{cur[0]}")
    except OSError:
        pass

def screen():
    return tmux("capture-pane", "-p", "-t", "b")

def screen_attrs():
    # with colours and attributes: a selection that moves by highlight
    # alone (dive's layer list at 80 columns) is a change too
    return tmux("capture-pane", "-p", "-e", "-t", "b")

def poll(pred, timeout=120, grab=screen):
    t0 = time.perf_counter()
    while True:
        s = grab()
        if pred(s):
            return time.perf_counter(), s
        if time.perf_counter() - t0 > timeout:
            sys.exit(f"timed out waiting; screen:\n{s}")
        time.sleep(0.002)

def start(cmd, env):
    pidfile = f"{work}/pid"
    if os.path.exists(pidfile):
        os.remove(pidfile)
    kill_server()
    cur[0] = f"{sock}-{time.monotonic_ns()}"
    envs = []
    for k, v in env.items():
        envs += ["-e", f"{k}={v}"]
    line = f"echo $$ > {pidfile}; exec " + " ".join(cmd)
    t0 = time.perf_counter()
    tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "b", *envs, "bash", "--norc", "-c", line)
    while not os.path.exists(pidfile) or not open(pidfile).read().strip():
        if time.perf_counter() - t0 > 10:
            sys.exit(f"the command did not start in tmux: {line}")
        time.sleep(0.001)
    return t0, int(open(pidfile).read())

def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1]) / 1024
    return float("nan")

def latency(key, changed=lambda a, b: a != b, n=15, between=None):
    time.sleep(0.2)
    out = []
    for i in range(n):
        before = screen_attrs()
        k = key(i) if callable(key) else key
        t0 = time.perf_counter()
        tmux("send-keys", "-t", "b", *k)
        t1, _ = poll(lambda s: changed(before, s), timeout=60, grab=screen_attrs)
        out.append(t1 - t0)
        if between:
            between()
    return statistics.median(out)

def typing(chars):
    return lambda i: ["-l", chars[i % len(chars)]]

def strata_run(src, cold):
    cache = f"{work}/cache"
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    env = {"XDG_CACHE_HOME": cache, "XDG_CONFIG_HOME": f"{work}/config", "TERM": "xterm-256color"}
    t0, pid = start([strata, "explore", src], env)
    t1, _ = poll(lambda s: "STEP" in s and ("✓" in s or "…" in s))
    t2, s = poll(lambda s: " paths" in s.split("\n")[0])
    r = {"paint": t1 - t0, "full": t2 - t0}
    tmux("send-keys", "-t", "b", "Tab")
    time.sleep(0.3)
    r["down"] = latency(["Down"])
    r["pgdn"] = latency(["PageDown"])
    tmux("send-keys", "-t", "b", "/")
    time.sleep(0.3)
    r["filter"] = latency(typing("small1/d5"), n=9)
    tmux("send-keys", "-t", "b", "Escape")
    time.sleep(0.3)
    tmux("send-keys", "-t", "b", "Tab")
    time.sleep(0.3)
    r["layer"] = latency(lambda i: ["Up"] if i < 7 else ["Down"], n=14)
    r["rss"] = hwm(pid)
    tmux("send-keys", "-t", "b", "q")
    return r

def dive_run():
    t0, pid = start([dive, "--source", "docker-archive", tar], {"TERM": "xterm-256color"})
    t1, _ = poll(lambda s: "Current Layer Contents" in s and "Filetree" in s, timeout=300)
    r = {"paint": t1 - t0, "full": t1 - t0}
    # dive opens on the first layer: walk down to the last (the layer
    # switches are its "layer" figure), then measure in its tree there, as
    # strata opens on the last layer.
    r["layer"] = latency(["Down"], n=7)
    tmux("send-keys", "-t", "b", "Tab")
    time.sleep(1)
    r["down"] = latency(["Down"])
    r["pgdn"] = latency(["PageDown"])
    tmux("send-keys", "-t", "b", "C-f")
    time.sleep(0.5)
    r["filter"] = latency(typing("small1/d5"), n=9)
    r["rss"] = hwm(pid)
    tmux("send-keys", "-t", "b", "C-c")
    return r

def median_of(f, *a):
    rs = [f(*a) for _ in range(runs)]
    return {k: statistics.median(r[k] for r in rs) for k in rs[0]}

# the resolution: one capture-pane round trip
tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "b", "sleep 5")
t0 = time.perf_counter()
for _ in range(20):
    screen()
poll_cost = (time.perf_counter() - t0) / 20

rows = [
    ("dive v0.13.1, save tar", median_of(dive_run)),
    ("strata explore, tar, first run", median_of(strata_run, tar, True)),
    ("strata explore, tar, cached", median_of(strata_run, tar, False)),
    ("strata explore, registry, first run", median_of(strata_run, ref, True)),
    ("strata explore, registry, cached", median_of(strata_run, ref, False)),
]
kill_server()
ms = lambda x: f"{x*1000:.0f} ms"
print(f"strata explore vs dive on BIG in tmux 80×24 — medians of {runs} runs; poll {poll_cost*1000:.1f} ms")
fmt = "{:<38} {:>11} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9}"
print(fmt.format("", "first paint", "full tree", "Down", "PgDn", "filter", "layer", "peak RSS"))
for label, r in rows:
    print(fmt.format(label, f"{r['paint']:.3f} s", f"{r['full']:.3f} s", ms(r["down"]), ms(r["pgdn"]),
                     ms(r["filter"]), ms(r["layer"]), f"{r['rss']:.0f} MiB"))
d = rows[0][1]
print("\ntargets (issue 11)")
def verdict(ok): return "MET" if ok else "MISSED"
for label, r in rows[1:]:
    keys = max(r["down"], r["pgdn"], r["filter"])
    print(f"  {label}: first paint {r['paint']:.3f} s ≤ 0.3 s {verdict(r['paint'] <= .3)}; "
          f"full tree {r['full']:.3f} s ≤ dive ÷ 5 = {d['full']/5:.3f} s {verdict(r['full'] <= d['full']/5)}; "
          f"keys {keys*1000:.0f} ms ≤ 50 ms {verdict(keys <= .05)}; "
          f"RSS {r['rss']:.0f} MiB ≤ dive ÷ 5 = {d['rss']/5:.0f} MiB {verdict(r['rss'] <= d['rss']/5)}")
PY
