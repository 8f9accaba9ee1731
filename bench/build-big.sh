#!/usr/bin/env bash
# build-big.sh — builds the benchmark images BIG and BIG2 of ../shared/bench
# with dockerd's classic builder, pushes both to a registry and saves both
# as docker save tars. Other benchmarks (layers, waste, diff) reuse what it
# leaves behind; a second run with the images already built and saved only
# re-checks them (seconds).
#
#   BIG  = shared/bench/big   (FROM scratch + busybox, 8 layers, ~1 GiB)
#   BIG2 = shared/bench/big2  (FROM perf/big:1 + one small layer)
#
# Usage: DOCKER_HOST=unix:///…/docker.sock bench/build-big.sh
# Env:
#   DOCKER_HOST            the dockerd to build with (required; never the host's default)
#   STRATA_BENCH_REGISTRY  registry to push to (default 127.0.0.1:5000)
#   STRATA_BENCH_DIR       where the tars go (default $HOME/.cache/strata/bench)
#   STRATA_SHARED          the shared folder (default: ../shared beside the repo)
# Output (also written to $STRATA_BENCH_DIR/big.env, to be sourced):
#   BIG_REF, BIG2_REF      registry references
#   BIG_TAR, BIG2_TAR      docker save archives (legacy layout on dockerd 20.10)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
SHARED=${STRATA_SHARED:-$ROOT/../shared}
REG=${STRATA_BENCH_REGISTRY:-127.0.0.1:5000}
OUT=${STRATA_BENCH_DIR:-$HOME/.cache/strata/bench}

log() { printf 'build-big: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -n ${DOCKER_HOST:-} ]] || die "set DOCKER_HOST to the test dockerd (scripts/services.sh start docker prints it)"
[[ -f $SHARED/bench/big/Dockerfile && -f $SHARED/bench/big2/Dockerfile ]] || die "no $SHARED/bench/big{,2}/Dockerfile (set STRATA_SHARED)"
[[ -x /bin/busybox ]] || die "/bin/busybox missing: apt-get install busybox-static"
command -v docker >/dev/null || die "docker CLI not on PATH"
# The classic builder, whatever the CLI's default: BIG's figures in
# shared/bench/README.md were measured on classic-built images.
export DOCKER_BUILDKIT=0
mkdir -p "$OUT"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# build NAME DIR: builds perf/NAME:1 from shared/bench/DIR.
build() {
	local name=$1 dir=$2 t0=$SECONDS
	mkdir -p "$ctx/$name"
	cp "$SHARED/bench/$dir/Dockerfile" "$ctx/$name/"
	cp /bin/busybox "$ctx/$name/busybox"
	log "building perf/$name:1 (classic builder; BIG takes ~35 s cold, seconds when cached)"
	docker build -q -t "perf/$name:1" "$ctx/$name" >/dev/null 2>"$ctx/$name.log" ||
		{ cat "$ctx/$name.log" >&2; die "docker build perf/$name:1 failed"; }
	log "perf/$name:1 = $(docker image inspect -f '{{.Id}}' "perf/$name:1") ($((SECONDS - t0)) s)"
}

# publish NAME: pushes perf/NAME:1 and saves it, unless the saved tar
# already holds this very image.
publish() {
	local name=$1 id t0=$SECONDS
	local tar=$OUT/$name.tar
	id=$(docker image inspect -f '{{.Id}}' "perf/$name:1")
	docker tag "perf/$name:1" "$REG/perf/$name:1"
	docker push -q "$REG/perf/$name:1" >/dev/null || die "docker push $REG/perf/$name:1 failed"
	if [[ -f $tar && $(cat "$tar.id" 2>/dev/null) == "$id" ]]; then
		log "$tar is up to date"
	else
		docker save -o "$tar.new" "perf/$name:1"
		mv "$tar.new" "$tar"
		echo "$id" >"$tar.id"
	fi
	log "published perf/$name:1 ($((SECONDS - t0)) s)"
}

build big big
build big2 big2
publish big
publish big2

cat >"$OUT/big.env" <<EOF
# written by bench/build-big.sh
export BIG_REF=$REG/perf/big:1
export BIG2_REF=$REG/perf/big2:1
export BIG_TAR=$OUT/big.tar
export BIG2_TAR=$OUT/big2.tar
EOF
cat "$OUT/big.env"
