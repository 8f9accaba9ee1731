# Dockerfile reconstructed by strata from buildkit-0.8 and 1.18 EXPOSE forms, ADD alpine rootfs (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM scratch: the first layer is its own root file system (ADD
#   alpine-minirootfs-3.22.3-x86_64.tar.gz /)
# the history suggests alpine:3.22.3 (history fingerprint: the first layer is Alpine's minirootfs
#   3.22.3): a guess, which a FROM line does not name
# no base image is named: had the image been built FROM one whose steps are all in this history,
#   those steps are counted here as this image's own
FROM scratch
# layer 0: 1.0 kB, sha256:000000000000…
ADD alpine-minirootfs-3.22.3-x86_64.tar.gz /
CMD ["/bin/sh"]
EXPOSE 53/udp 8080
# EXPOSE history text unreadable (&{[{{103 0} {103 0}}] <nil>}); ports from the config
EXPOSE 103
# layer 1: 2.0 kB, sha256:000000000000…
ARG TOKEN=s3cret
RUN ./install.sh
CMD exec server --port 8080
