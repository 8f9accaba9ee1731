# Dockerfile reconstructed by strata from buildkit-0.34 (heredoc, COPY --chmod, multi-stage, build args, ONBUILD) (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM scratch: every layer has a history entry and the first one adds files to an empty file system
# no base image is named: had the image been built FROM one whose steps are all in this history,
#   those steps are counted here as this image's own
FROM scratch
# layer 0: 1.0 kB, sha256:000000000000…
COPY busybox /bin/busybox
# layer 1: 2.0 kB, sha256:000000000000…
# guessed: exec form: argument boundaries guessed from the space-joined history
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG GREETING=hello
ARG SPACED="two words here"
# layer 2: 3.0 kB, sha256:000000000000…
WORKDIR /src
# layer 3: 4.0 kB, sha256:000000000000…
RUN <<EOF
mkdir -p /etc/app
echo "written by a heredoc" > /etc/app/conf
EOF
# layer 4: 5.0 kB, sha256:000000000000…
# RUN <<EOF … : the heredoc body ran as a file and the history did not record it: RUN |2 GREETING=hello SPACED=two words here /bin/sh -c /dev/pipes/EOF # buildkit
# layer 5: 6.0 kB, sha256:000000000000…
# COPY heredoc: the history does not record the file content; the files below come out empty
COPY <<EOT /etc/app/inline.txt
EOT
# layer 6: 7.0 kB, sha256:000000000000…
COPY --chown=1000:1000 --chmod=755 hello.txt /opt/run.sh
# layer 7: 8.0 kB, sha256:000000000000…
# absolute source path: probably copied from another build stage or image (BuildKit drops --from)
COPY /out/built.txt /opt/built.txt
ENV ROLE=child
ENV ROLE=grandchild
EXPOSE 53/udp 8080
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1/ || exit 1
CMD ["cat", "/opt/built.txt"]
# from the image config; no history entry records these:
ONBUILD RUN echo "built FROM strata multistage"
