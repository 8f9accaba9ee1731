# lib.sh — what the benchmark scripts share; sourced by them (run from the
# repository root, after they define log and die).
#
#   bench_big        sources $OUT/big.env (bench/build-big.sh writes it)
#   bench_strata W   puts the strata under test at W/strata: $STRATA_BIN, or
#                    a build of ./cmd/strata
#   bench_dive       installs dive $DIVE_VERSION into $TOOLS/bin if missing
#   bench_crane      installs crane $CRANE_VERSION into $TOOLS/bin if missing
#   bench_registry W PORT
#                    starts a registry of its own on 127.0.0.1:PORT
#                    (scripts/services.sh; sets run_dir, which the caller's
#                    cleanup stops) and pushes BIG's save tar there with
#                    gzip layers (sets REF)

bench_big() {
	[[ -f $OUT/big.env ]] || die "no $OUT/big.env: run bench/build-big.sh first"
	# shellcheck source=/dev/null
	source "$OUT/big.env"
	[[ -f $BIG_TAR ]] || die "no $BIG_TAR: run bench/build-big.sh again"
}

bench_strata() {
	if [[ -n ${STRATA_BIN:-} ]]; then
		cp "$STRATA_BIN" "$1/strata"
	else
		log "building strata"
		go build -o "$1/strata" ./cmd/strata
	fi
}

bench_dive() {
	if ! dive --version >/dev/null 2>&1 || [[ ! -f $TOOLS/dive.version || $(cat "$TOOLS/dive.version") != "$DIVE_VERSION" ]]; then
		log "installing dive $DIVE_VERSION from the Go module proxy into $TOOLS/bin"
		GOBIN=$TOOLS/bin go install "github.com/wagoodman/dive@$DIVE_VERSION"
		echo "$DIVE_VERSION" >"$TOOLS/dive.version"
	fi
}

bench_crane() {
	command -v crane >/dev/null || GOBIN=$TOOLS/bin go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
}

bench_registry() {
	log "starting a registry on 127.0.0.1:$2 (scripts/services.sh)"
	run_dir=$(STRATA_REGISTRY_PORT=$2 scripts/services.sh start registry 2>"$1/services.log") ||
		{ cat "$1/services.log" >&2; die "registry did not start"; }
	REF=127.0.0.1:$2/perf/big:1
	log "pushing BIG to $REF (crane push of the save tar: gzip layers)"
	crane push --insecure "$BIG_TAR" "$REF" >/dev/null
}
