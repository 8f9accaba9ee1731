# Dockerfile reconstructed by strata from ko on a Chainguard static base (apko), base annotations (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM cgr.dev/chainguard/static:latest@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd: the image's org.opencontainers.image.base.name annotation; ko's own steps start at history entry 1
# 1 base layers (1 history entries) folded into FROM
FROM cgr.dev/chainguard/static:latest@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
# layer 1: 2.0 kB, sha256:000000000000…
# [ko] ko build ko://github.com/example/app — kodata contents, at $KO_DATA_PATH
# layer 1 is not made by a Dockerfile instruction: nothing here recreates it
# layer 2: 3.0 kB, sha256:000000000000…
# [ko] ko build ko://github.com/example/app — go build output, at /ko-app/app
# layer 2 is not made by a Dockerfile instruction: nothing here recreates it
# from the image config; no history entry records these:
ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin:/ko-app KO_DATA_PATH=/var/run/ko
USER 65532
ENTRYPOINT ["/ko-app/app"]
