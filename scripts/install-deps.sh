#!/usr/bin/env bash
# install-deps.sh — installs everything scripts/test.sh needs, and nothing it
# already finds, so a warm run costs about a second:
#   * Debian packages: the real registry, dockerd, podman/buildah/skopeo,
#     PostgreSQL, busybox-static (the only "base image" we may use), and the
#     compressors users wrap docker-save archives in;
#   * standalone BuildKit (buildkitd + buildctl), crane and staticcheck, built
#     from source through the Go module proxy into $STRATA_TOOLS/bin;
#   * the modern Docker engine for services.sh's docker29 (dockerd from
#     moby/moby/v2, containerd v2 + its runc shim, runc with seccomp) and
#     buildx to build with it, built the same way into
#     $STRATA_TOOLS/docker29/bin — not bin/, which is on PATH, where they
#     would shadow the containerd and runc that Debian's dockerd 20.10 and
#     buildkitd run.
# Nothing here downloads a prebuilt binary.
#
# Usage: scripts/install-deps.sh        (root; apt-get when a package is missing)
# Env:   STRATA_TOOLS  tool cache (default $HOME/.cache/strata/tools)
set -euo pipefail

TOOLS=${STRATA_TOOLS:-$HOME/.cache/strata/tools}
BUILDKIT_VERSION=v0.34.2
CRANE_VERSION=v0.22.1
# staticcheck runs in the test command beside go vet.
STATICCHECK_VERSION=v0.8.2
# The Docker 29 engine line: moby's daemon module is github.com/moby/moby/v2.
DOCKERD29_VERSION=v2.0.0-beta.24
CONTAINERD29_VERSION=v2.4.2
RUNC29_VERSION=v1.4.2
# The 28.x docker client at /usr/local/bin has no buildx plugin, and without
# it refuses DOCKER_BUILDKIT=1; buildx run standalone drives docker29's
# built-in BuildKit through the Engine API.
BUILDX29_VERSION=v0.38.2
# The package tests: cosign signs test images with a local key (no
# transparency log); syft is the peer the package listings are compared
# with (packages tests and bench/packages.sh).
COSIGN_VERSION=v2.6.5
SYFT_VERSION=v1.57.2

# --no-install-recommends keeps out needrestart, apparmor, git and systemd;
# everything the scripts use is named here. Not crun (services.sh pins
# podman to runc anyway):
# podman prefers it when present, and it refuses this machine's hybrid
# cgroup v1/v2 mounts ("cgroups in hybrid mode not supported"); runc works.
# netavark is named so apt does not pick the container-network-stack
# provider on its own; slirp4netns and fuse-overlayfs complete the set the
# scripts were verified with (dbus-user-session is left out: it drags in
# systemd, useless without it as PID 1). chromium runs strata serve's
# browser tests (headless, driven with chromedp); wrk is bench/serve.sh's
# load generator; tmux runs strata explore's terminal tests and
# bench/explore.sh (send-keys, capture-pane).
APT_PACKAGES=(
	docker-registry apache2-utils busybox-static
	docker.io containerd runc tini iptables
	gcc libc6-dev libseccomp-dev pkg-config
	podman buildah skopeo conmon uidmap golang-github-containers-common
	netavark slirp4netns fuse-overlayfs
	postgresql
	zstd xz-utils bzip2 gzip tar ca-certificates procps iproute2 curl
	chromium wrk mmdebstrap rpm tmux
)
# npm and pip are used where the machine has them (its own Node.js and
# Python); Debian's are installed only when there is none.
command -v npm >/dev/null || APT_PACKAGES+=(npm)
python3 -m pip --version >/dev/null 2>&1 || APT_PACKAGES+=(python3-pip)

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

start=$SECONDS

# --- Debian packages --------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

# Another engineer (or apt's own timer) may hold the lock: wait for it rather
# than fail. apt's Lock::Timeout covers dpkg's lock; the loop covers the
# lists lock taken by `apt-get update`.
apt_retry() {
	local i
	for i in $(seq 1 60); do
		if apt-get -o DPkg::Lock::Timeout=300 "$@"; then
			return 0
		fi
		log "apt-get $1 failed (attempt $i); retrying in 10 s (lock held by someone else?)"
		sleep 10
	done
	return 1
}

if ((${#missing[@]})); then
	[[ $(id -u) -eq 0 ]] || die "missing Debian packages (${missing[*]}) and not root: run as root or install them"
	log "apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Package scripts must not start their own registry/dockerd/postgres on
	# the ports the tests reserve; policy-rc.d exit 101 forbids it. Leave an
	# existing policy alone.
	created_policy=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created_policy=1
	fi
	trap '[[ -n $created_policy ]] && rm -f /usr/sbin/policy-rc.d' EXIT
	apt_retry update -qq || die "apt-get update failed"
	apt_retry install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
fi

# --- Go-built tools -----------------------------------------------------------
command -v go >/dev/null || die "go not found on PATH (install Go 1.26+)"
mkdir -p "$TOOLS/bin"
# A tool may be a leftover from another version: ask the binary itself which
# module version it was built from.
has_module() { # binary module version
	[[ -x $1 ]] && go version -m "$1" 2>/dev/null | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}

# Plain `go install github.com/moby/buildkit/cmd/buildkitd@…` is refused
# (buildkit's go.mod has exclude/replace directives), so build it inside a
# scratch module that requires buildkit.
if ! has_module "$TOOLS/bin/buildkitd" github.com/moby/buildkit "$BUILDKIT_VERSION" ||
	! has_module "$TOOLS/bin/buildctl" github.com/moby/buildkit "$BUILDKIT_VERSION"; then
	log "building buildkitd + buildctl $BUILDKIT_VERSION from source (about a minute)"
	src="$TOOLS/src/buildkit-$BUILDKIT_VERSION"
	rm -rf "$src"
	mkdir -p "$src"
	(
		cd "$src"
		export GOFLAGS=-mod=mod GOWORK=off
		go mod init strata-tools/buildkit >/dev/null 2>&1
		cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
GO
		go get "github.com/moby/buildkit@$BUILDKIT_VERSION" >/dev/null 2>&1
		go mod tidy >/dev/null 2>&1
		go build -trimpath -o "$TOOLS/bin/buildkitd.new" github.com/moby/buildkit/cmd/buildkitd
		go build -trimpath -o "$TOOLS/bin/buildctl.new" github.com/moby/buildkit/cmd/buildctl
	) || die "building BuildKit $BUILDKIT_VERSION failed (see above)"
	mv "$TOOLS/bin/buildkitd.new" "$TOOLS/bin/buildkitd"
	mv "$TOOLS/bin/buildctl.new" "$TOOLS/bin/buildctl"
fi

if ! has_module "$TOOLS/bin/staticcheck" honnef.co/go/tools "$STATICCHECK_VERSION"; then
	log "building staticcheck $STATICCHECK_VERSION from source"
	GOBIN="$TOOLS/bin" GOWORK=off go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ||
		die "go install staticcheck $STATICCHECK_VERSION failed"
fi

if ! has_module "$TOOLS/bin/crane" github.com/google/go-containerregistry "$CRANE_VERSION"; then
	log "building crane $CRANE_VERSION from source"
	GOBIN="$TOOLS/bin" GOWORK=off go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" ||
		die "go install crane $CRANE_VERSION failed"
fi

if ! has_module "$TOOLS/bin/cosign" github.com/sigstore/cosign/v2 "$COSIGN_VERSION"; then
	log "building cosign $COSIGN_VERSION from source (a few minutes)"
	GOBIN="$TOOLS/bin" GOWORK=off go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" ||
		die "go install cosign $COSIGN_VERSION failed"
fi

if ! has_module "$TOOLS/bin/syft" github.com/anchore/syft "$SYFT_VERSION"; then
	log "building syft $SYFT_VERSION from source (a few minutes)"
	GOBIN="$TOOLS/bin" GOWORK=off go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION" ||
		die "go install syft $SYFT_VERSION failed"
fi

# The docker29 engine. runc needs cgo and libseccomp (-tags seccomp): without
# the seccomp filter dockerd's default profile cannot be applied. Each binary
# is checked on its own, so a version bump rebuilds only what changed.
D29="$TOOLS/docker29/bin"
mkdir -p "$D29"
build_d29() { # binary module version package [go build flags...]
	local bin=$1 mod=$2 ver=$3 pkg=$4
	shift 4
	local tags=
	[[ ${1:-} == -tags ]] && tags=$2
	if has_module "$D29/$bin" "$mod" "$ver" &&
		{ [[ -z $tags ]] || go version -m "$D29/$bin" | grep -Eq "[[:space:]]-tags=$tags([[:space:]]|$)"; }; then
		return 0
	fi
	log "building $bin ($mod $ver) from source"
	local tmp
	tmp=$(mktemp -d "$TOOLS/src/gobin.XXXXXX")
	GOBIN="$tmp" GOWORK=off go install -trimpath "$@" "$pkg@$ver" ||
		{ rm -rf "$tmp"; die "go install $pkg@$ver failed"; }
	mv "$tmp/$(basename "$pkg")" "$D29/$bin"
	rm -rf "$tmp"
}
mkdir -p "$TOOLS/src"
build_d29 runc github.com/opencontainers/runc "$RUNC29_VERSION" github.com/opencontainers/runc -tags seccomp
build_d29 containerd github.com/containerd/containerd/v2 "$CONTAINERD29_VERSION" github.com/containerd/containerd/v2/cmd/containerd
build_d29 containerd-shim-runc-v2 github.com/containerd/containerd/v2 "$CONTAINERD29_VERSION" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
build_d29 dockerd github.com/moby/moby/v2 "$DOCKERD29_VERSION" github.com/moby/moby/v2/cmd/dockerd
build_d29 buildx github.com/docker/buildx "$BUILDX29_VERSION" github.com/docker/buildx/cmd/buildx
# Without cgo the tag builds a runc with no seccomp support, which cannot
# load the default profile dockerd gives every container: catch that here
# rather than at the first RUN step.
"$D29/runc" --version | grep -q '^libseccomp' || die "$D29/runc was built without seccomp support"

# --- sanity ----------------------------------------------------------------------
for b in docker-registry htpasswd dockerd podman buildah skopeo /bin/busybox zstd xz bzip2 \
	/usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_ctl \
	"$TOOLS/bin/buildkitd" "$TOOLS/bin/buildctl" "$TOOLS/bin/crane" "$TOOLS/bin/staticcheck" \
	"$TOOLS/bin/cosign" "$TOOLS/bin/syft" mmdebstrap rpm rpmbuild npm \
	"$D29/dockerd" "$D29/containerd" "$D29/containerd-shim-runc-v2" "$D29/runc" "$D29/buildx"; do
	command -v "$b" >/dev/null || die "$b is still missing after install"
done
log "ready in $((SECONDS - start)) s (tools in $TOOLS/bin)"
