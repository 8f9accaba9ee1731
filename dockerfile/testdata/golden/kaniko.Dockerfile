# Dockerfile reconstructed by strata from kaniko (dive test image style: only layer steps in history) (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM scratch: the first layer is its own root file system (/bin/sh -c #(nop) ADD
#   file:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in /)
# the history shows an ancestor of 1 layer that nothing names (see strata base): its steps are
#   listed as this image's own
# no base image is named: had the image been built FROM one whose steps are all in this history,
#   those steps are counted here as this image's own
FROM scratch
# layer 0: 1.0 kB, sha256:000000000000…
# ADD source lost: the classic builder recorded only a content hash (file:0123456789abcdef012…); "file-0123456789ab.tar" is a placeholder, and any --from=<stage> is lost
ADD file-0123456789ab.tar /
CMD ["sh"]
# layer 1: 2.0 kB, sha256:000000000000…
RUN mkdir -p /somefile && echo hi > /somefile/a
# layer 2: 3.0 kB, sha256:000000000000…
COPY --from=builder /go/bin/app /app
# layer 3: 4.0 kB, sha256:000000000000…
COPY file-1.txt /somefile/
# from the image config; no history entry records these:
ENV APP_ENV="prod mode"
LABEL team="a b"
EXPOSE 9000
USER nobody
WORKDIR /srv
ENTRYPOINT exec /app
CMD ["/app"]
