# Dockerfile reconstructed by strata from Windows classic build on a Windows base (windows/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM scratch: the first layer is its own root file system (Windows base layer)
# no base image is named: had the image been built FROM one whose steps are all in this history,
#   those steps are counted here as this image's own
FROM scratch
# layer 0: 1.0 kB, sha256:000000000000…
# [base-rootfs] Apply image 10.0.17763.5696 — Windows base layer
# stand-in for the root file system layer, which no Dockerfile step made:
ADD rootfs.tar /
# layer 1: 2.0 kB, sha256:000000000000…
# [base-rootfs] Install update 10.0.17763.5820 — Windows base layer
# layer 1 is not made by a Dockerfile instruction: nothing here recreates it
ENV NATS_DOCKERIZED=1
# layer 2: 3.0 kB, sha256:000000000000…
WORKDIR C:\\nats-streaming-server
# layer 3: 4.0 kB, sha256:000000000000…
# COPY source lost: the classic builder recorded only a content hash (file:0123456789abcdef012…); "file-0123456789ab" is a placeholder, and any --from=<stage> is lost
COPY ["file-0123456789ab", "C:\\nats-streaming-server\\nats-streaming-server.exe"]
EXPOSE 4222 8222
ENTRYPOINT ["C:\\nats-streaming-server\\nats-streaming-server.exe"]
