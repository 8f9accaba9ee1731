# Dockerfile reconstructed by strata from kaniko (dive test image style: only layer steps in history) (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM scratch: the first layer is its own root file system (/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in /)
# base image not identified by name: any base image's own steps are included below
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
