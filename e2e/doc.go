// Package e2e holds strata's end-to-end tests against real builders and real
// services: images built by scripts/build-test-images.sh with the classic
// builder, BuildKit (dockerd's and standalone), podman and buildah, opened
// through every transport and held to the registry's own config; the
// request count of registry metadata reads; and the small archives committed
// under testdata/images (those need no services).
//
// scripts/test.sh runs it with everything started. By hand:
//
//	STRATA_RUN_DIR=/tmp/run scripts/services.sh start
//	. /tmp/run/env && scripts/build-test-images.sh && go test ./e2e
//	scripts/services.sh stop
//
// Without the services the service-backed tests skip (or fail under
// STRATA_REQUIRE_SERVICES=1). The package has no code of its own.
package e2e
