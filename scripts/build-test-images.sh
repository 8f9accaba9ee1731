#!/usr/bin/env bash
# build-test-images.sh — builds every test Dockerfile under testdata/builders/
# with every real builder that supports it, then puts each image in every
# place strata reads from and writes $STRATA_TEST_IMAGES/images.json in the
# internal/testenv.BuiltImage shape. The ref labels it records:
#   registry                 $STRATA_TEST_REGISTRY/strata-test/NAME:BUILDER
#   docker-daemon            docker-daemon:REF in dockerd (pulled if built elsewhere)
#   podman-daemon            docker-daemon:REF in podman's storage, via its API
#   docker-archive[-gzip|-zstd]  docker save (legacy layout here), and compressed whole
#   podman-docker-archive    podman save --format docker-archive
#   oci-archive              podman save --format oci-archive (no manifest.json)
#   oci-layout[-zstd]        skopeo copy to oci:DIR:BUILDER (Docker configs
#                            converted to OCI), and again with zstd layers
#   crane-oci-layout         crane pull --format=oci DIR (manifest kept byte
#                            for byte; opened as a plain directory)
#   buildkit-oci-archive, buildkit-docker-archive   BuildKit's type=oci and
#                            type=docker tarballs (with a provenance
#                            attestation the docker one has no manifest.json)
#   buildkit-oci-layout      type=oci,tar=false (provenance builds only):
#                            index -> nested index -> image + attestation
#   docker29-daemon          docker-daemon:REF in the docker29 engine (containerd
#                            image store), pulled from the registry (or built there)
#   docker29-archive         docker save from docker29: an OCI layout with
#                            manifest.json, compressed blobs as pulled, the
#                            registry's index and attestation manifests kept
#
# scripts/test.sh runs it after the services start, with their env sourced:
#   STRATA_TEST_REGISTRY       plain registry host:port (127.0.0.1:5000)
#   STRATA_TEST_DOCKER_HOST    dockerd socket (unix://…)
#   STRATA_TEST_DOCKER29_HOST  docker29 (containerd image store) socket
#   STRATA_TEST_PODMAN_HOST    podman API socket (only recorded; podman and
#                              buildah use CONTAINERS_STORAGE_CONF & co)
#   STRATA_TEST_BUILDKIT_ADDR  standalone buildkitd socket
#   STRATA_TEST_BUILDCTL       buildctl binary
#   STRATA_TEST_IMAGES         output directory
# A builder whose service variable is unset is skipped with a message.
# docker29-buildkit is docker29's built-in BuildKit, driven by the standalone
# buildx that install-deps.sh builds (STRATA_DOCKER29_BUILDX overrides it),
# with a max-mode provenance attestation.
# buildah and podman come in every layer mode their users pick: buildah
# (plain `buildah bud`: no --layers, one commit per stage, history entries for
# all but the last step recorded as empty), buildah-layers, buildah-squash,
# buildah-squash-all (podman build --squash-all), podman (podman build, whose
# default is --layers) and podman-nolayers (podman build --layers=false
# --format docker: the one-commit shape in a Docker-format image).
#
# Idempotent: an image is rebuilt only when its Dockerfile directory,
# busybox, the builder or this script's STAMP_VERSION changed, or when one of
# the places it was put has gone (a registry restarted on an empty root).
# Builds run one at a time: on two shared cores parallel builds only thrash.
set -eEuo pipefail # -E: the ERR trap below also fires inside functions

STAMP_VERSION=6
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILDERS_DIR=$ROOT/testdata/builders
OUT=${STRATA_TEST_IMAGES:?STRATA_TEST_IMAGES must be set (source the services env)}
REG=${STRATA_TEST_REGISTRY:?STRATA_TEST_REGISTRY must be set}
DOCKER_HOST_SOCK=${STRATA_TEST_DOCKER_HOST:-}
DOCKER29_HOST_SOCK=${STRATA_TEST_DOCKER29_HOST:-}
PODMAN_HOST_SOCK=${STRATA_TEST_PODMAN_HOST:-}
BK_ADDR=${STRATA_TEST_BUILDKIT_ADDR:-}
BUILDCTL=${STRATA_TEST_BUILDCTL:-buildctl}
BUSYBOX=${STRATA_BUSYBOX:-/bin/busybox}
# The 28.x client at /usr/local/bin uses the classic builder; Debian's 20.10
# client with DOCKER_BUILDKIT=1 drives dockerd's built-in BuildKit 0.8.
DOCKER_CLASSIC=${STRATA_DOCKER_CLASSIC:-/usr/local/bin/docker}
DOCKER_BK=${STRATA_DOCKER_BUILDKIT:-/usr/bin/docker}
[[ -x $DOCKER_CLASSIC ]] || DOCKER_CLASSIC=docker
BUILDX29=${STRATA_DOCKER29_BUILDX:-${STRATA_TOOLS:-$HOME/.cache/strata/tools}/docker29/bin/buildx}
CRANE=$(command -v crane || true)
for c in "${STRATA_TOOLS:-$HOME/.cache/strata/tools}/bin/crane" "$(dirname "$BUILDCTL")/crane"; do
	if [[ -z $CRANE && -x $c ]]; then CRANE=$c; fi
done

ALL_BUILDERS=(classic buildkit-dockerd buildkit buildkit-provenance podman podman-nolayers buildah buildah-layers buildah-squash buildah-squash-all docker29-buildkit)
# Build order matters: child is FROM the parent the same builder pushed;
# crosschild is FROM another builder's parent (see crossparent), so those
# builders come earlier in ALL_BUILDERS.
ALL_NAMES=(single multistage chmod heredoc parent child crosschild)

log() { printf 'build-test-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x $BUSYBOX ]] || die "$BUSYBOX not found (apt-get install busybox-static)"
mkdir -p "$OUT"

# supports BUILDER NAME: which builder can build which Dockerfile, as
# measured here. The classic builder refuses COPY --chmod ("requires
# BuildKit"); only the standalone BuildKit's and docker29's Dockerfile
# frontends know heredocs (dockerd 20.10's BuildKit 0.8 and buildah 1.28 read
# "mkdir" as an instruction). crosschild is only for the one-commit
# builders, once the other builder's parent exists.
supports() {
	case "$2" in
	heredoc) [[ $1 == buildkit || $1 == buildkit-provenance || $1 == docker29-buildkit ]] ;;
	crosschild) [[ -n $(crossparent "$1") && -f $OUT/parent/$(crossparent "$1")/refs.json ]] ;;
	chmod) [[ $1 != classic ]] ;;
	*) return 0 ;;
	esac
}

# available BUILDER: whether the services a builder needs are here.
available() {
	case "$1" in
	classic | buildkit-dockerd) [[ -n $DOCKER_HOST_SOCK ]] ;;
	buildkit | buildkit-provenance) [[ -n $BK_ADDR ]] && command -v "$BUILDCTL" >/dev/null ;;
	podman | podman-* | buildah | buildah-*) command -v podman >/dev/null && command -v buildah >/dev/null ;;
	docker29-buildkit) [[ -n $DOCKER29_HOST_SOCK && -x $BUILDX29 ]] ;;
	*) return 1 ;;
	esac
}

dk() { DOCKER_HOST=$DOCKER_HOST_SOCK "$DOCKER_CLASSIC" "$@"; }
# The same 28.x client; BuildKit builds on docker29 go through buildx (build).
dk29() { DOCKER_HOST=$DOCKER29_HOST_SOCK "$DOCKER_CLASSIC" "$@"; }
bctl() { "$BUILDCTL" --addr "$BK_ADDR" "$@"; }

# crossparent BUILDER: whose parent the one-commit builders' crosschild is
# built FROM — a builder writing another history format (the classic
# builder's two-space #(nop), BuildKit's), so that format changes where the
# base ends.
crossparent() {
	case "$1" in
	buildah) echo classic ;;
	podman-nolayers) echo buildkit ;;
	esac
}

build_args() { # NAME BUILDER -> lines KEY=VALUE
	case "$1" in
	single) printf '%s\n' "SPACED=two words here" ;;
	child) printf '%s\n' "PARENT=$REG/strata-test/parent:$2" ;;
	crosschild) printf '%s\n' "PARENT=$REG/strata-test/parent:$(crossparent "$2")" ;;
	esac
}

# key NAME BUILDER: what the image depends on. busybox and the Dockerfile
# directory are hashed by content; the parent's key is folded into child's.
key() {
	{
		# Where the image is put is part of it: a run dir that gains
		# docker29 must place every image there too.
		echo "v$STAMP_VERSION $2 $REG docker29=${DOCKER29_HOST_SOCK:+yes}"
		(cd "$BUILDERS_DIR/$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
		sha256sum <"$BUSYBOX"
		build_args "$1" "$2"
		if [[ $1 == child ]]; then cat "$OUT/parent/$2/key" 2>/dev/null || true; fi
		if [[ $1 == crosschild ]]; then cat "$OUT/parent/$(crossparent "$2")/key" 2>/dev/null || true; fi
	} | sha256sum | cut -d' ' -f1
}

registry_has() { # REPO TAG
	curl -sf -o /dev/null -I \
		-H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
		"http://$REG/v2/$1/manifests/$2"
}

# still_there DIR: every place recorded in DIR/refs.json still exists.
still_there() {
	local dir=$1 label ref path
	while IFS=$'\t' read -r label ref; do
		case "$label" in
		registry)
			path=${ref#"$REG"/}
			registry_has "${path%:*}" "${ref##*:}" || return 1
			;;
		docker-daemon) dk image inspect "${ref#docker-daemon:}" >/dev/null 2>&1 || return 1 ;;
		docker29-daemon) dk29 image inspect "${ref#docker-daemon:}" >/dev/null 2>&1 || return 1 ;;
		podman-daemon) podman image exists "${ref#docker-daemon:}" || return 1 ;;
		*)
			path=${ref#oci:}
			path=${path%%:*}
			[[ -e $path ]] || return 1
			;;
		esac
	done < <(jq -r '.refs | to_entries[] | [.key, .value] | @tsv' "$dir/refs.json")
}

# context NAME: a fresh build context (the Dockerfile directory + busybox).
context() {
	local ctx=$OUT/.ctx/$1
	rm -rf "$ctx"
	mkdir -p "$ctx"
	cp -r "$BUILDERS_DIR/$1/." "$ctx/"
	cp "$BUSYBOX" "$ctx/busybox"
	echo "$ctx"
}

# build NAME BUILDER DIR: build with BUILDER and leave the image pushed to the
# registry as $REG/strata-test/NAME:BUILDER; BuildKit builders also leave
# their own oci/docker tarballs in DIR.
build() {
	local name=$1 builder=$2 dir=$3 ref=$REG/strata-test/$1:$2 ctx arg
	ctx=$(context "$name")
	local -a dargs=() bargs=()
	while IFS= read -r arg; do
		[[ -n $arg ]] || continue
		dargs+=(--build-arg "$arg")
		bargs+=(--opt "build-arg:$arg")
	done < <(build_args "$name" "$builder")
	case "$builder" in
	classic)
		dk build -q "${dargs[@]}" -t "$ref" "$ctx" >/dev/null
		dk push -q "$ref" >/dev/null
		;;
	buildkit-dockerd)
		DOCKER_HOST=$DOCKER_HOST_SOCK DOCKER_BUILDKIT=1 "$DOCKER_BK" build -q --network=none "${dargs[@]}" -t "$ref" "$ctx" >/dev/null
		dk push -q "$ref" >/dev/null
		;;
	buildkit | buildkit-provenance)
		if [[ $builder == buildkit-provenance ]]; then bargs+=(--opt attest:provenance=mode=max); fi
		# One solve, several exporters: the pushed image, BuildKit's own
		# oci and docker tarballs, and (provenance) an OCI layout directory
		# that keeps the attestation manifest beside the image.
		local -a outs=(
			--output "type=image,name=$ref,push=true,registry.insecure=true"
			--output "type=oci,name=$ref,dest=$dir/buildkit-oci.tar"
			--output "type=docker,name=$ref,dest=$dir/buildkit-docker.tar"
		)
		if [[ $builder == buildkit-provenance ]]; then
			outs+=(--output "type=oci,name=$ref,tar=false,dest=$dir/buildkit-layout")
		fi
		bctl build --progress=quiet --frontend dockerfile.v0 \
			--local context="$ctx" --local dockerfile="$ctx" "${bargs[@]}" "${outs[@]}" >/dev/null
		;;
	podman | podman-nolayers)
		local -a layers=()
		[[ $builder == podman-nolayers ]] && layers=(--layers=false)
		podman build -q --network=none --format docker "${layers[@]}" "${dargs[@]}" -t "$ref" "$ctx" >/dev/null
		podman push -q --tls-verify=false "$ref" >/dev/null
		;;
	buildah | buildah-layers | buildah-squash | buildah-squash-all)
		# buildah bud's default is no --layers: the plain buildah builder
		# passes no mode at all.
		local mode=
		[[ $builder == buildah-layers ]] && mode=--layers
		[[ $builder == buildah-squash ]] && mode=--squash
		[[ $builder == buildah-squash-all ]] && mode=--squash-all
		# buildah's default OCI format: HEALTHCHECK, SHELL and ONBUILD are
		# dropped at build time (buildah warns), so every transport agrees.
		# buildah 1.28's bud has no --squash-all; podman build (buildah
		# inside) has.
		if [[ $mode == --squash-all ]]; then
			podman build -q --network=none --squash-all "${dargs[@]}" -t "$ref" "$ctx" >/dev/null
		else
			buildah bud -q --network=none ${mode:+"$mode"} "${dargs[@]}" -t "$ref" "$ctx" >/dev/null
		fi
		buildah push -q --tls-verify=false "$ref" "docker://$ref" >/dev/null
		;;
	docker29-buildkit)
		# The docker driver builds inside docker29, stores the result in its
		# containerd image store and pushes it from there. BUILDX_CONFIG keeps
		# buildx's state out of ~/.docker.
		DOCKER_HOST=$DOCKER29_HOST_SOCK BUILDX_CONFIG=$OUT/.buildx "$BUILDX29" build --progress=quiet \
			--network=none --provenance=mode=max "${dargs[@]}" -t "$ref" \
			--output type=image,push=true "$ctx" >/dev/null
		;;
	esac
}

# place NAME BUILDER DIR: copy the pushed image into every other place and
# write DIR/refs.json.
place() {
	local name=$1 builder=$2 dir=$3 ref=$REG/strata-test/$1:$2
	local -A refs=([registry]=$ref)
	if [[ -n $DOCKER_HOST_SOCK ]]; then
		# Images built elsewhere are pulled in (dockerd treats 127.0.0.0/8 as
		# an insecure registry), so every image is also a daemon image. Pull
		# even when the tag exists: it may be an older build's.
		case $builder in
		classic | buildkit-dockerd) ;;
		*) dk pull -q "$ref" >/dev/null ;;
		esac
		refs[docker-daemon]=docker-daemon:$ref
		dk save -o "$dir/docker-save.tar" "$ref"
		gzip -1 -c "$dir/docker-save.tar" >"$dir/docker-save.tar.gz"
		zstd -q -f "$dir/docker-save.tar" -o "$dir/docker-save.tar.zst"
		refs[docker-archive]=$dir/docker-save.tar
		refs[docker-archive-gzip]=$dir/docker-save.tar.gz
		refs[docker-archive-zstd]=$dir/docker-save.tar.zst
	fi
	case $builder in
	podman | podman-* | buildah | buildah-*) ;;
	*) podman pull -q --tls-verify=false "$ref" >/dev/null ;;
	esac
	if [[ -n $PODMAN_HOST_SOCK ]]; then refs[podman-daemon]=docker-daemon:$ref; fi
	rm -f "$dir/podman-oci.tar" "$dir/podman-docker.tar"
	podman save -q --format oci-archive -o "$dir/podman-oci.tar" "$ref"
	podman save -q --format docker-archive -o "$dir/podman-docker.tar" "$ref"
	refs[oci-archive]=$dir/podman-oci.tar
	refs[podman-docker-archive]=$dir/podman-docker.tar
	rm -rf "$dir/oci" "$dir/oci-zstd"
	skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$dir/oci:$builder"
	skopeo copy -q --dest-compress-format zstd "oci:$dir/oci:$builder" "oci:$dir/oci-zstd:$builder"
	refs[oci-layout]=oci:$dir/oci:$builder
	refs[oci-layout-zstd]=oci:$dir/oci-zstd:$builder
	# skopeo converts a Docker manifest and config to OCI on the way into an
	# oci: layout; crane keeps the pushed manifest byte for byte, and its
	# layout is opened as a plain directory.
	if [[ -n $CRANE ]]; then
		rm -rf "$dir/crane-layout"
		"$CRANE" pull --insecure --format=oci "$ref" "$dir/crane-layout"
		refs[crane-oci-layout]=$dir/crane-layout
	fi
	if [[ -e $dir/buildkit-oci.tar ]]; then
		refs[buildkit-oci-archive]=$dir/buildkit-oci.tar
		refs[buildkit-docker-archive]=$dir/buildkit-docker.tar
	fi
	if [[ -d $dir/buildkit-layout ]]; then refs[buildkit-oci-layout]=oci:$dir/buildkit-layout:$builder; fi
	if [[ -n $DOCKER29_HOST_SOCK ]]; then
		# The containerd store keeps what the registry served (index,
		# attestation manifests, compressed blobs), and its save writes
		# that as an OCI layout plus manifest.json. Pull even when the tag
		# exists: it may be an older build's.
		dk29 pull -q "$ref" >/dev/null
		refs[docker29-daemon]=docker-daemon:$ref
		rm -f "$dir/docker29-save.tar"
		dk29 save -o "$dir/docker29-save.tar" "$ref"
		refs[docker29-archive]=$dir/docker29-save.tar
	fi

	local refs_json='{}' args_json='{}' k arg
	for k in "${!refs[@]}"; do
		refs_json=$(jq -c --arg k "$k" --arg v "${refs[$k]}" '. + {($k): $v}' <<<"$refs_json")
	done
	while IFS= read -r arg; do
		[[ -n $arg ]] || continue
		args_json=$(jq -c --arg k "${arg%%=*}" --arg v "${arg#*=}" '. + {($k): $v}' <<<"$args_json")
	done < <(build_args "$name" "$builder")
	jq -n -S --arg name "$name" --arg builder "$builder" --arg dockerfile "$BUILDERS_DIR/$name/Dockerfile" \
		--argjson args "$args_json" --argjson refs "$refs_json" \
		'{name: $name, builder: $builder, dockerfile: $dockerfile, refs: $refs}
		+ (if ($args | length) > 0 then {buildArgs: $args} else {} end)' >"$dir/refs.json"
}

exec 3>&2 # the real stderr, for the ERR trap while a build's stderr goes to its log
declare -a table=()
for builder in "${ALL_BUILDERS[@]}"; do
	if ! available "$builder"; then
		log "skipping builder $builder: its service is not configured"
		continue
	fi
	for name in "${ALL_NAMES[@]}"; do
		supports "$builder" "$name" || continue
		dir=$OUT/$name/$builder
		k=$(key "$name" "$builder")
		if [[ -f $dir/refs.json && $(cat "$dir/key" 2>/dev/null) == "$k" ]] && still_there "$dir"; then
			table+=("$name $builder cached $(jq '.refs | length' "$dir/refs.json")")
			continue
		fi
		start=$SECONDS
		rm -rf "$dir"
		mkdir -p "$dir"
		# Called bare, not under ||: bash ignores set -e inside a function
		# whose caller tests its status. The builders' chatter (deprecation
		# notices, fsverity warnings) goes to DIR/log; the ERR trap names what
		# failed and shows the end of that log.
		trap '{ log "ERROR: $name with $builder failed at line $LINENO: $BASH_COMMAND"; tail -n 20 "$dir/log"; } >&3 2>&3' ERR
		build "$name" "$builder" "$dir" 2>>"$dir/log"
		place "$name" "$builder" "$dir" 2>>"$dir/log"
		trap - ERR
		echo "$k" >"$dir/key"
		table+=("$name $builder $((SECONDS - start))s $(jq '.refs | length' "$dir/refs.json")")
	done
done

# images.json is rebuilt from the per-image fragments that exist now, so a
# Dockerfile or builder dropped from the lists above drops out too.
frags=()
for builder in "${ALL_BUILDERS[@]}"; do
	for name in "${ALL_NAMES[@]}"; do
		[[ -f $OUT/$name/$builder/refs.json && -f $OUT/$name/$builder/key ]] && frags+=("$OUT/$name/$builder/refs.json")
	done
done
((${#frags[@]})) || die "no image was built"
jq -s . "${frags[@]}" >"$OUT/images.json.tmp"
mv "$OUT/images.json.tmp" "$OUT/images.json"
rm -rf "$OUT/.ctx"

{
	printf '%-11s %-20s %-7s %s\n' IMAGE BUILDER BUILT REFS
	for row in "${table[@]}"; do
		# shellcheck disable=SC2086
		printf '%-11s %-20s %-7s %s\n' $row
	done
	printf '%d images in %s/images.json\n' "${#frags[@]}" "$OUT"
} >&2
