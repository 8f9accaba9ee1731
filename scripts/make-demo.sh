#!/usr/bin/env bash
# make-demo.sh — builds testdata/demo/Dockerfile with a real builder (dockerd's
# classic builder, the most common producer of images in the wild) and writes
# testdata/demo/demo.tar, a `docker save` archive in the legacy layout
# (manifest.json + <id>/layer.tar). The README's first command reads it, so it
# is committed; rerun this after changing the Dockerfile.
#
# It starts its own dockerd through scripts/services.sh and stops it again.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
OUT="$ROOT/testdata/demo/demo.tar"
TAG=strata/demo:latest
MAX_BYTES=$((8 << 20)) # the demo must stay "a few MB"

bash scripts/install-deps.sh
export PATH="${STRATA_TOOLS:-$HOME/.cache/strata/tools}/bin:$PATH"

RUN=$(mktemp -d /tmp/strata-demo.XXXXXX)
touch "$RUN/.mktemp"
export STRATA_RUN_DIR=$RUN
trap 'bash "$ROOT/scripts/services.sh" stop' EXIT
bash scripts/services.sh start docker >/dev/null
# shellcheck source=/dev/null
source "$RUN/env"

# The build context is the Dockerfile plus Debian's static busybox: nothing
# is pulled, the image starts FROM scratch.
ctx="$RUN/context"
mkdir -p "$ctx"
cp testdata/demo/Dockerfile "$ctx/Dockerfile"
cp /bin/busybox "$ctx/busybox"

docker=(docker -H "$STRATA_TEST_DOCKER_HOST")
# DOCKER_BUILDKIT=0: the classic builder, whatever the client's default.
DOCKER_BUILDKIT=0 "${docker[@]}" build --network=none -t "$TAG" "$ctx"
"${docker[@]}" save -o "$OUT.tmp" "$TAG"

size=$(stat -c %s "$OUT.tmp")
if ((size > MAX_BYTES)); then
	rm -f "$OUT.tmp"
	echo "make-demo: archive is $size bytes, over the $MAX_BYTES limit" >&2
	exit 1
fi
chmod 644 "$OUT.tmp" # docker save -o writes 0600
mv "$OUT.tmp" "$OUT"
echo "make-demo: wrote $OUT ($size bytes, $TAG)"
"${docker[@]}" history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$TAG"
