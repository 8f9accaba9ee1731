# Dockerfile reconstructed by strata from ko on a Chainguard static base (apko), base annotations (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM cgr.dev/chainguard/static:latest (declared): manifest annotations
#   org.opencontainers.image.base.name="cgr.dev/chainguard/static:latest"
#   org.opencontainers.image.base.digest="sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
#   ko writes history only for the layers it adds: its steps start at step 2, so step 1 is the
#   base's
# the base annotation gives the digest
#   sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd, which nothing confirms
#   (no catalogued image, provenance or buildinfo record has it), so it is not pinned
# 1 base layer (step 1) folded into FROM
FROM cgr.dev/chainguard/static:latest
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
