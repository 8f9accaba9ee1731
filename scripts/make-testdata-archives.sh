#!/usr/bin/env bash
# make-testdata-archives.sh — builds the two COPY-only images under
# testdata/images/src with real builders and writes the small archives and
# layouts committed in testdata/images/, one per format strata must read, so
# unit tests elsewhere run fast without services. testdata/images/README.md
# says what each one is; rerun this after changing testdata/images/src.
#
# It starts its own dockerd, podman and buildkitd through scripts/services.sh
# (and stops them), unless STRATA_TEST_DOCKER_HOST and
# STRATA_TEST_BUILDKIT_ADDR are already set by a sourced services env.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
OUT=$ROOT/testdata/images
SRC=$OUT/src
MAX_BYTES=$((3 << 20)) # each archive must stay well under 3 MB
export PATH="${STRATA_TOOLS:-$HOME/.cache/strata/tools}/bin:$PATH"

log() { printf 'make-testdata-archives: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

RUN=
work=$(mktemp -d /tmp/strata-testdata-work.XXXXXX)
trap 'rm -rf "$work"; if [[ -n $RUN ]]; then bash "$ROOT/scripts/services.sh" stop; fi' EXIT
if [[ -z ${STRATA_TEST_DOCKER_HOST:-} || -z ${STRATA_TEST_BUILDKIT_ADDR:-} ]]; then
	bash scripts/install-deps.sh
	RUN=$(mktemp -d /tmp/strata-testdata.XXXXXX)
	touch "$RUN/.mktemp"
	export STRATA_RUN_DIR=$RUN
	bash scripts/services.sh start docker podman buildkit >/dev/null
	# shellcheck source=/dev/null
	source "$RUN/env"
fi
BUILDCTL=${STRATA_TEST_BUILDCTL:-buildctl}
dk() { docker -H "$STRATA_TEST_DOCKER_HOST" "$@"; }
bctl() { "$BUILDCTL" --addr "$STRATA_TEST_BUILDKIT_ADDR" "$@"; }

TINY=strata-test/tiny:classic
TINY2=strata-test/tiny2:classic

# Output paths are replaced whole, so a rerun never mixes old blobs in.
fresh() { rm -rf "${OUT:?}/${1:?}"; }

# 1. dockerd's classic builder, and docker save in the legacy layout
#    (manifest.json + <id>/layer.tar + <id>.json), alone, gzip'd whole, and
#    two images in one archive.
DOCKER_BUILDKIT=0 dk build -q --network=none -t "$TINY" "$SRC/tiny" >/dev/null
DOCKER_BUILDKIT=0 dk build -q --network=none -t "$TINY2" "$SRC/tiny2" >/dev/null
fresh docker-save-legacy.tar
dk save -o "$OUT/docker-save-legacy.tar" "$TINY"
fresh docker-save-legacy.tar.gz
gzip -9 -n -c "$OUT/docker-save-legacy.tar" >"$OUT/docker-save-legacy.tar.gz"
fresh docker-save-multi.tar
dk save -o "$OUT/docker-save-multi.tar" "$TINY" "$TINY2"

# 2. skopeo: an OCI layout directory (containers/image converts the Docker
#    manifest and config to OCI on the way), then the same with zstd layers.
fresh oci-layout
skopeo copy -q --src-daemon-host "$STRATA_TEST_DOCKER_HOST" "docker-daemon:$TINY" "oci:$OUT/oci-layout:tiny"
fresh oci-layout-zstd
skopeo copy -q --dest-compress-format zstd "oci:$OUT/oci-layout:tiny" "oci:$OUT/oci-layout-zstd:tiny"

# 3. podman save --format oci-archive: an OCI layout in a tar, with no
#    manifest.json beside index.json.
podman load -q -i "$OUT/docker-save-legacy.tar" >/dev/null
fresh oci-archive.tar
podman save -q --format oci-archive -o "$OUT/oci-archive.tar" "$TINY"

# 4. standalone BuildKit with a max-mode provenance attestation, exported as
#    an OCI layout: an index holding the image manifest and an attestation
#    manifest (in-toto layers). SOURCE_DATE_EPOCH pins the timestamps.
fresh buildkit-provenance
cp -r "$SRC/tiny" "$work/ctx"
bctl build --progress=quiet --frontend dockerfile.v0 --local context="$work/ctx" --local dockerfile="$work/ctx" \
	--opt attest:provenance=mode=max --opt build-arg:SOURCE_DATE_EPOCH=1767225600 \
	--output "type=oci,name=strata-test/tiny:buildkit-provenance,tar=false,dest=$OUT/buildkit-provenance,rewrite-timestamp=true" \
	2> >(grep -v fsverity >&2)

# docker save -o and podman save write 0600; the files are committed.
chmod -R a+rX "$OUT"
for f in docker-save-legacy.tar docker-save-legacy.tar.gz docker-save-multi.tar oci-archive.tar oci-layout oci-layout-zstd buildkit-provenance; do
	size=$(du -sb "$OUT/$f" | cut -f1)
	((size < MAX_BYTES)) || die "$f is $size bytes, over $MAX_BYTES"
	printf '%-28s %8d bytes\n' "$f" "$size"
done
