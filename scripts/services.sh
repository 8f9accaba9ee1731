#!/usr/bin/env bash
# services.sh — starts and stops the real services the tests use, on
# 127.0.0.1 only, each with its own state under one run dir, and without
# systemd:
#
#   registry       Debian docker-registry (distribution 2.8), plain http   :5000
#   registry-auth  the same with htpasswd (bcrypt) basic auth               :5001
#   docker         dockerd (Debian docker.io) on its own unix socket
#   docker29       the modern engine (moby v2 / Docker 29 line) with the
#                  containerd image store, on its own containerd v2 and unix
#                  socket; binaries from install-deps.sh in $STRATA_TOOLS/docker29
#   podman         `podman system service` on its own unix socket
#   buildkit       standalone buildkitd (OCI worker) on its own unix socket
#   postgres       PostgreSQL 15, trust auth, database strata_test         :55432
#
# Usage:
#   scripts/services.sh start [SERVICE...]   (default: all of the above)
#   scripts/services.sh stop
#   scripts/services.sh status
#
# start writes $STRATA_RUN_DIR/env, which exports the STRATA_TEST_* variables
# (and the CONTAINERS_* files that isolate podman/buildah/skopeo from the
# host's /var/lib/containers). It never exports DOCKER_HOST: a test names the
# daemon it means explicitly. stop kills exactly the process groups start
# recorded (checked against their start time, so a recycled PID is left
# alone), sweeps up processes whose command line names this run dir (the
# containerd and shims dockerd spawns in their own sessions), and unmounts
# what dockerd/podman left mounted under the run dir.
#
# Env:
#   STRATA_RUN_DIR   run dir (default: a new mktemp dir, printed by start;
#                    stop needs it, or the path as its second argument)
#   STRATA_TOOLS     where install-deps.sh put buildkitd/buildctl (bin/) and
#                    the docker29 engine (docker29/bin/)
#   STRATA_REGISTRY_PORT, STRATA_REGISTRY_AUTH_PORT, STRATA_POSTGRES_PORT
#                    override the ports (5000, 5001, 55432) for experiments
#                    beside a running test suite
#   STRATA_SERVICE_TIMEOUT  seconds to wait for each service (default 90)
set -euo pipefail

TOOLS=${STRATA_TOOLS:-$HOME/.cache/strata/tools}
REGISTRY_PORT=${STRATA_REGISTRY_PORT:-5000}
REGISTRY_AUTH_PORT=${STRATA_REGISTRY_AUTH_PORT:-5001}
PG_PORT=${STRATA_POSTGRES_PORT:-55432}
TIMEOUT=${STRATA_SERVICE_TIMEOUT:-90}
PG_BIN=/usr/lib/postgresql/15/bin
# docker29's binaries live apart from $TOOLS/bin, which is on PATH: there
# its containerd and runc would shadow Debian's for dockerd 20.10 and
# buildkitd, which expect those.
D29_BIN=$TOOLS/docker29/bin
ALL_SERVICES=(registry registry-auth docker docker29 podman buildkit postgres)

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# set -e exits silently; name the command that failed so a CI log says why.
set -E
trap 'log "ERROR: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)"' ERR

# ---- process bookkeeping ------------------------------------------------------
# $RUN/pids holds one line per service: NAME PID STARTTIME STOPSIGNAL. Each
# service is started under setsid, so PID is also its process group.

proc_starttime() { # pid -> field 22 of /proc/PID/stat (clock ticks since boot)
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) } # the command name may contain spaces; skip past it
	# After "comm) " the fields start at 3, so starttime (22) is index 19.
	local f
	read -ra f <<<"$stat"
	echo "${f[19]}"
}

# spawn NAME STOPSIGNAL LOGFILE CMD... — runs CMD in its own session.
spawn() {
	local name=$1 sig=$2 logf=$3
	shift 3
	# A background job of a non-interactive shell is not a group leader, so
	# setsid execs in place and $! is the service's own PID (and PGID).
	setsid "$@" >>"$logf" 2>&1 </dev/null &
	local pid=$! st
	st=$(proc_starttime "$pid") || st=0
	echo "$name $pid $st $sig" >>"$RUN/pids"
}

# alive NAME -> true while the recorded process is still the one we started
# and not a zombie (PID 1 here may take a second or two to reap it).
alive() {
	local line pid st stat
	line=$(grep "^$1 " "$RUN/pids" 2>/dev/null | tail -n1) || return 1
	read -r _ pid st _ <<<"$line"
	[[ -n $pid && $(proc_starttime "$pid" 2>/dev/null) == "$st" ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# wait_ready NAME LOGFILE CHECK... — polls CHECK until it succeeds, failing
# with the service's log tail when it times out or the process exits.
wait_ready() {
	local name=$1 logf=$2
	shift 2
	local deadline=$((SECONDS + TIMEOUT))
	while ! "$@" >/dev/null 2>&1; do
		if ! alive "$name"; then
			log "$name exited during start-up; last lines of $logf:"
			tail -n 25 "$logf" | sed 's/^/    /' >&2
			return 1
		fi
		if ((SECONDS >= deadline)); then
			log "$name not ready after ${TIMEOUT}s; last lines of $logf:"
			tail -n 25 "$logf" | sed 's/^/    /' >&2
			return 1
		fi
		sleep 0.2
	done
	log "$name ready ($((SECONDS - svc_start)) s)"
}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

need_port() { # name port
	port_free "$2" || die "$1: 127.0.0.1:$2 is already in use ($(ss -Hltnp "sport = :$2" | head -n1)); stop it or set the port override (see header)"
}

http_code() { # url [curl args...] -> prints the status code
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url"
}

# ---- services ---------------------------------------------------------------------

start_registry() { # name port [htpasswd]
	local name=$1 port=$2 auth=${3:-}
	local d="$RUN/$name"
	need_port "$name" "$port"
	mkdir -p "$d/data"
	{
		echo "version: 0.1"
		echo "log: {level: warn}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $d/data}"
		echo "  delete: {enabled: true}"
		echo "http:"
		echo "  addr: 127.0.0.1:$port"
		# Without a fixed secret each start warns and invents one.
		echo "  secret: strata-test-$port"
		if [[ -n $auth ]]; then
			echo "auth:"
			echo "  htpasswd: {realm: strata-test, path: $auth}"
		fi
	} >"$d/config.yml"
	spawn "$name" TERM "$d/log" docker-registry serve "$d/config.yml"
	if [[ -n $auth ]]; then
		wait_ready "$name" "$d/log" check_http "http://127.0.0.1:$port/v2/" 401
	else
		wait_ready "$name" "$d/log" check_http "http://127.0.0.1:$port/v2/" 200
	fi
}

check_http() { [[ $(http_code "$1") == "$2" ]]; }

start_registry_auth() {
	local d="$RUN/registry-auth"
	mkdir -p "$d"
	# The password only has to be unguessable enough that a test cannot pass
	# by accident without sending it.
	REG_USER=strata
	REG_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	# distribution accepts bcrypt hashes only (-B).
	htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$d/htpasswd"
	echo "$REG_PASS" >"$d/password"
	start_registry registry-auth "$REGISTRY_AUTH_PORT" "$d/htpasswd"
}

check_docker() { curl -sf --max-time 2 --unix-socket "$RUN/docker/docker.sock" http://d/_ping; }

start_docker() {
	local d="$RUN/docker" driver
	for driver in overlay2 vfs; do
		mkdir -p "$d/root" "$d/exec"
		echo '{}' >"$d/daemon.json" # ignore any /etc/docker/daemon.json
		svc_start=$SECONDS
		spawn docker TERM "$d/log" dockerd --config-file "$d/daemon.json" \
			--data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" \
			-H "unix://$d/docker.sock" --iptables=false --ip6tables=false \
			--bridge=none --storage-driver="$driver" --shutdown-timeout=2
		if wait_ready docker "$d/log" check_docker; then
			DOCKER_DRIVER=$driver
			return 0
		fi
		[[ $driver == vfs ]] && return 1
		log "dockerd failed with overlay2; retrying with vfs"
		stop_one docker
		cleanup_mounts "$d"
		rm -rf "$d"
	done
}

# containerd creates its gRPC socket once it serves; dockerd retries anyway.
check_containerd29() { [[ -S $RUN/docker29/ctd/containerd.sock ]]; }
check_docker29() { curl -sf --max-time 2 --unix-socket "$RUN/docker29/docker.sock" http://d/_ping; }

# start_docker29 — containerd v2 and dockerd (moby v2) with the containerd
# image store: images are kept as containerd content (compressed blobs, the
# pulled index and attestation manifests), so `docker save` writes an OCI
# layout with manifest.json and the Engine API's image ID is the manifest
# or index digest rather than the config digest.
start_docker29() {
	local d="$RUN/docker29" snap b
	for b in containerd containerd-shim-runc-v2 runc dockerd; do
		[[ -x $D29_BIN/$b ]] || die "docker29: $D29_BIN/$b missing; run scripts/install-deps.sh"
	done
	for snap in overlayfs native; do
		mkdir -p "$d/ctd/root" "$d/ctd/state" "$d/root" "$d/exec"
		# Config version 3 is containerd 2.x's. CRI is off (nothing here is
		# Kubernetes) and every socket is ours: the debug socket would
		# otherwise default to /run/containerd/debug.sock.
		cat >"$d/ctd/config.toml" <<-EOF
			version = 3
			root = "$d/ctd/root"
			state = "$d/ctd/state"
			disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"]
			[grpc]
			  address = "$d/ctd/containerd.sock"
			[ttrpc]
			  address = "$d/ctd/containerd.sock.ttrpc"
			[debug]
			  address = "$d/ctd/debug.sock"
			[metrics]
			  address = ""
		EOF
		# The containerd store is this engine line's default (dockerd warns
		# the feature flag is no longer needed); it is named anyway so the
		# service cannot silently fall back to the graph-driver store.
		cat >"$d/daemon.json" <<-EOF
			{"features": {"containerd-snapshotter": true}, "storage-driver": "$snap"}
		EOF
		# PATH puts the built shim and runc first. containerd resolves the
		# shim by name (Debian's 1.6 shim fails every container start with
		# "type with url …: not found"), and the shim resolves runc
		# (Debian's 1.1.5 breaks RUN steps on this engine, per RECIPES.md).
		svc_start=$SECONDS
		spawn containerd29 TERM "$d/ctd/log" env PATH="$D29_BIN:$PATH" \
			"$D29_BIN/containerd" --config "$d/ctd/config.toml"
		wait_ready containerd29 "$d/ctd/log" check_containerd29 || return 1
		svc_start=$SECONDS
		spawn docker29 TERM "$d/log" env PATH="$D29_BIN:$PATH" \
			"$D29_BIN/dockerd" --config-file "$d/daemon.json" \
			--containerd "$d/ctd/containerd.sock" \
			--data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" \
			-H "unix://$d/docker.sock" --iptables=false --ip6tables=false \
			--bridge=none --shutdown-timeout=2
		if wait_ready docker29 "$d/log" check_docker29; then
			DOCKER29_DRIVER=$snap
			return 0
		fi
		[[ $snap == native ]] && return 1
		log "docker29 failed with the overlayfs snapshotter; retrying with native"
		stop_one docker29
		stop_one containerd29
		sweep "$d" # shims, not the other services' processes
		cleanup_mounts "$d"
		rm -rf "$d"
	done
}

check_podman() { curl -sf --max-time 2 --unix-socket "$RUN/podman/podman.sock" http://d/_ping; }

# write_podman_conf DRIVER — isolated storage/engine/registries config, so
# neither the service nor the podman/buildah/skopeo CLIs touch
# /var/lib/containers or /run/libpod.
write_podman_conf() {
	local d="$RUN/podman"
	mkdir -p "$d/storage" "$d/run" "$d/tmp" "$d/networks"
	cat >"$d/storage.conf" <<-EOF
		[storage]
		driver = "$1"
		runroot = "$d/run"
		graphroot = "$d/storage"
	EOF
	cat >"$d/containers.conf" <<-EOF
		[containers]
		netns = "host"
		[engine]
		# crun refuses hybrid cgroup v1/v2 hosts like these; runc copes.
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		events_logfile_path = "$d/events.log"
		tmp_dir = "$d/tmp"
		[network]
		network_config_dir = "$d/networks"
	EOF
	cat >"$d/registries.conf" <<-EOF
		unqualified-search-registries = []
		[[registry]]
		location = "127.0.0.1:$REGISTRY_PORT"
		insecure = true
		[[registry]]
		location = "127.0.0.1:$REGISTRY_AUTH_PORT"
		insecure = true
	EOF
}

podman_env() {
	export CONTAINERS_STORAGE_CONF="$RUN/podman/storage.conf"
	export CONTAINERS_CONF="$RUN/podman/containers.conf"
	export CONTAINERS_REGISTRIES_CONF="$RUN/podman/registries.conf"
}

start_podman() {
	local d="$RUN/podman" driver
	podman_env
	for driver in overlay vfs; do
		write_podman_conf "$driver"
		svc_start=$SECONDS
		spawn podman TERM "$d/log" podman system service --time=0 "unix://$d/podman.sock"
		if wait_ready podman "$d/log" check_podman; then
			PODMAN_DRIVER=$driver
			return 0
		fi
		[[ $driver == vfs ]] && return 1
		log "podman failed with overlay; retrying with vfs"
		stop_one podman
		cleanup_mounts "$d"
		rm -rf "$d"
	done
}

check_buildkit() { "$TOOLS/bin/buildctl" --addr "unix://$RUN/buildkit/buildkitd.sock" debug workers; }

start_buildkit() {
	local d="$RUN/buildkit" snap
	[[ -x $TOOLS/bin/buildkitd ]] || die "buildkit: $TOOLS/bin/buildkitd missing; run scripts/install-deps.sh"
	for snap in overlayfs native; do
		mkdir -p "$d/root"
		# Pushes to the test registries go over plain http.
		cat >"$d/buildkitd.toml" <<-EOF
			[registry."127.0.0.1:$REGISTRY_PORT"]
			  http = true
			  insecure = true
			[registry."127.0.0.1:$REGISTRY_AUTH_PORT"]
			  http = true
			  insecure = true
		EOF
		svc_start=$SECONDS
		spawn buildkit TERM "$d/log" "$TOOLS/bin/buildkitd" --config "$d/buildkitd.toml" \
			--root "$d/root" --addr "unix://$d/buildkitd.sock" \
			--oci-worker=true --containerd-worker=false \
			--oci-worker-snapshotter="$snap" --oci-worker-net=host
		if wait_ready buildkit "$d/log" check_buildkit; then
			return 0
		fi
		[[ $snap == native ]] && return 1
		log "buildkitd failed with overlayfs; retrying with the native snapshotter"
		stop_one buildkit
		cleanup_mounts "$d"
		rm -rf "$d"
	done
}

check_postgres() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start_postgres() {
	local d="$RUN/postgres"
	need_port postgres "$PG_PORT"
	id postgres >/dev/null 2>&1 || die "postgres: no 'postgres' user (is the postgresql package installed?)"
	mkdir -p "$d"
	chown postgres: "$d"
	# The cluster is scratch (fsync=off): one left by a run that a machine
	# restart killed cannot be trusted, and initdb refuses a non-empty dir.
	rm -rf "$d/data"
	as_postgres "$PG_BIN/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 \
		>"$d/initdb.log" 2>&1 || {
		tail -n 20 "$d/initdb.log" >&2
		die "postgres: initdb failed"
	}
	# Run postgres itself (not pg_ctl) so the recorded PID is the postmaster;
	# SIGINT is its "fast" shutdown.
	spawn postgres INT "$d/log" setpriv --reuid=postgres --regid=postgres --init-groups \
		"$PG_BIN/postgres" -D "$d/data" -c listen_addresses=127.0.0.1 -p "$PG_PORT" \
		-k "$d" -c fsync=off -c full_page_writes=off
	wait_ready postgres "$d/log" check_postgres || return 1
	as_postgres "$PG_BIN/psql" -qAt -h 127.0.0.1 -p "$PG_PORT" -U postgres \
		-c 'CREATE DATABASE strata_test' >>"$d/log" 2>&1 || die "postgres: CREATE DATABASE strata_test failed (see $d/log)"
}

# Run from / so the postgres user never trips over an unreadable cwd.
as_postgres() { (cd / && setpriv --reuid=postgres --regid=postgres --init-groups "$@"); }

# ---- stop ------------------------------------------------------------------------

# stop_one NAME — signals the recorded process group, waits, then kills it.
stop_one() {
	local name=$1 line pid st sig
	line=$(grep "^$name " "$RUN/pids" 2>/dev/null | tail -n1) || return 0
	read -r _ pid st sig <<<"$line"
	local t0=$SECONDS
	if alive "$name"; then
		kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true
		# dockerd stops its containers (--shutdown-timeout=2) and containerd first.
		for _ in $(seq 1 150); do
			alive "$name" || break
			sleep 0.1
		done
		if alive "$name"; then
			log "$name (pid $pid) ignored SIG$sig; killing"
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	# The group may hold stragglers even when the leader is gone.
	kill -KILL -- "-$pid" 2>/dev/null || true
	log "$name stopped ($((SECONDS - t0)) s)"
	sed -i "/^$name /d" "$RUN/pids"
}

# run_pids [DIR] — PIDs whose command line names DIR (default: this run
# dir), leaving out this
# script, its callers and its own subshells (their arguments may name the run
# dir too).
run_pids() {
	local p stat f mine=" "
	p=$BASHPID
	while [[ -n $p && $p != 0 ]]; do
		mine+="$p "
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || break
		stat=${stat##*) } # fields from 3 on: state, ppid, …
		read -r _ p _ <<<"$stat"
	done
	# One grep over every command line is far cheaper than a process per PID;
	# the pattern comes from a file so grep's own argv does not match it.
	{ grep -lasF -f <(printf '%s/\n' "${1:-$RUN}") /proc/[0-9]*/cmdline || true; } |
		while read -r f; do
			p=${f#/proc/}
			p=${p%/cmdline}
			[[ $mine == *" $p "* ]] && continue
			stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
			stat=${stat##*) }
			read -r _ f _ <<<"$stat" # f: parent PID
			[[ $mine == *" $f "* ]] || echo "$p"
		done
	return 0
}

# sweep — processes that outlive their group because they started their own
# session (dockerd's containerd, containerd shims, conmon) but name this run
# dir in their command line. The run dir is unique to us, so this cannot
# touch anyone else's processes.
sweep() { # [DIR]
	local victims
	mapfile -t victims < <(run_pids "$@")
	((${#victims[@]})) || return 0
	log "stopping leftover processes of this run: ${victims[*]}"
	kill -TERM "${victims[@]}" 2>/dev/null || true
	sleep 1
	kill -KILL "${victims[@]}" 2>/dev/null || true
}

# cleanup_mounts DIR — overlay/bind/netns mounts left under DIR, deepest first.
cleanup_mounts() {
	local m
	awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
		done
}

do_stop() {
	[[ -f $RUN/pids ]] || die "$RUN is not a run dir of services.sh (no pids file)"
	local name
	# Reverse start order: clients (podman, buildkit) before what they use.
	for name in postgres buildkit podman docker29 containerd29 docker registry-auth registry; do
		stop_one "$name"
	done
	sweep
	cleanup_mounts "$RUN"
	# Say so loudly if anything survived: a leak here is a leak on CI.
	local left mounts
	left=$(run_pids)
	mounts=$(awk -v d="$RUN/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
	if [[ -n $left || -n $mounts ]]; then
		log "ERROR: left behind under $RUN: processes [${left//$'\n'/ }] mounts [${mounts//$'\n'/ }]"
		return 1
	fi
	if [[ -f $RUN/.mktemp && -z ${STRATA_KEEP_RUN_DIR:-} ]]; then
		rm -rf "$RUN" || log "could not remove $RUN"
	fi
	log "stopped"
}

# ---- main ------------------------------------------------------------------------

write_env() {
	local f="$RUN/env"
	{
		echo "# written by scripts/services.sh start; source it"
		echo "export STRATA_RUN_DIR='$RUN'"
		[[ -n ${started[registry]:-} ]] && echo "export STRATA_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT"
		if [[ -n ${started[registry-auth]:-} ]]; then
			echo "export STRATA_TEST_REGISTRY_AUTH=127.0.0.1:$REGISTRY_AUTH_PORT"
			echo "export STRATA_TEST_REGISTRY_USER='$REG_USER'"
			echo "export STRATA_TEST_REGISTRY_PASS='$REG_PASS'"
		fi
		if [[ -n ${started[docker]:-} ]]; then
			echo "export STRATA_TEST_DOCKER_HOST='unix://$RUN/docker/docker.sock'"
			echo "export STRATA_TEST_DOCKER_STORAGE_DRIVER=$DOCKER_DRIVER"
		fi
		if [[ -n ${started[docker29]:-} ]]; then
			echo "export STRATA_TEST_DOCKER29_HOST='unix://$RUN/docker29/docker.sock'"
			echo "export STRATA_TEST_DOCKER29_SNAPSHOTTER=$DOCKER29_DRIVER"
		fi
		if [[ -n ${started[podman]:-} ]]; then
			echo "export STRATA_TEST_PODMAN_HOST='unix://$RUN/podman/podman.sock'"
			echo "export STRATA_TEST_PODMAN_STORAGE_DRIVER=$PODMAN_DRIVER"
			# The podman/buildah/skopeo CLIs must share the service's storage.
			echo "export CONTAINERS_STORAGE_CONF='$RUN/podman/storage.conf'"
			echo "export CONTAINERS_CONF='$RUN/podman/containers.conf'"
			echo "export CONTAINERS_REGISTRIES_CONF='$RUN/podman/registries.conf'"
		fi
		if [[ -n ${started[buildkit]:-} ]]; then
			echo "export STRATA_TEST_BUILDKIT_ADDR='unix://$RUN/buildkit/buildkitd.sock'"
			echo "export STRATA_TEST_BUILDCTL='$TOOLS/bin/buildctl'"
		fi
		if [[ -n ${started[postgres]:-} ]]; then
			echo "export STRATA_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:$PG_PORT/strata_test?sslmode=disable'"
		fi
		echo "export STRATA_TEST_IMAGES='$RUN/images'"
	} >"$f"
}

do_start() {
	local services=("$@") s
	((${#services[@]})) || services=("${ALL_SERVICES[@]}")
	for s in "${services[@]}"; do
		[[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
	done
	[[ $(id -u) -eq 0 ]] || die "must run as root (dockerd, podman and buildkitd need it)"
	if [[ -z ${STRATA_RUN_DIR:-} ]]; then
		RUN=$(mktemp -d /tmp/strata-run.XXXXXX)
		touch "$RUN/.mktemp"
	else
		RUN=$STRATA_RUN_DIR
		mkdir -p "$RUN"
		[[ -s $RUN/pids ]] && die "$RUN already has running services; stop them first"
	fi
	RUN=$(cd "$RUN" && pwd -P)
	# The postgres user must reach its data dir inside the run dir.
	chmod 755 "$RUN"
	: >"$RUN/pids"
	mkdir -p "$RUN/images"
	# Unix socket paths must stay under 108 bytes.
	((${#RUN} < 70)) || die "run dir path too long for unix sockets: $RUN"
	export PATH="$TOOLS/bin:$PATH"
	declare -gA started=()
	# Whatever makes start fail (a die, a service that never comes up), stop
	# what was already started and keep the logs.
	trap 'rc=$?; if ((rc)); then log "start failed; stopping what was started (logs kept in $RUN)"; STRATA_KEEP_RUN_DIR=1 do_stop; fi' EXIT
	log "starting ${services[*]} in $RUN"
	for s in "${services[@]}"; do
		svc_start=$SECONDS
		local ok=0
		case $s in
		registry) start_registry registry "$REGISTRY_PORT" && ok=1 ;;
		registry-auth) start_registry_auth && ok=1 ;;
		docker) start_docker && ok=1 ;;
		docker29) start_docker29 && ok=1 ;;
		podman) start_podman && ok=1 ;;
		buildkit) start_buildkit && ok=1 ;;
		postgres) start_postgres && ok=1 ;;
		esac
		((ok)) || die "$s failed to start"
		started[$s]=1
	done
	write_env
	trap - EXIT
	log "all started; env: $RUN/env"
	echo "$RUN"
}

do_status() {
	local name pid st sig
	[[ -f $RUN/pids ]] || die "$RUN is not a run dir of services.sh"
	while read -r name pid st sig; do
		if alive "$name"; then echo "$name running (pid $pid)"; else echo "$name NOT running (pid $pid)"; fi
	done <"$RUN/pids"
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	start) do_start "$@" ;;
	stop | status)
		RUN=${1:-${STRATA_RUN_DIR:-}}
		[[ -n $RUN ]] || die "$cmd: set STRATA_RUN_DIR or pass the run dir"
		[[ -d $RUN ]] || die "$cmd: no such run dir $RUN"
		RUN=$(cd "$RUN" && pwd -P)
		if [[ $cmd == stop ]]; then do_stop; else do_status; fi
		;;
	*) die "usage: $0 start [${ALL_SERVICES[*]}] | stop [RUN_DIR] | status [RUN_DIR]" ;;
	esac
}

main "$@"
