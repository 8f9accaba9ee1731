# Dockerfile reconstructed by strata from classic-single (testdata/builders/single as the classic builder writes it) (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM scratch: every layer has a history entry and the first one adds files to an empty file system
# no base image is named: had the image been built FROM one whose steps are all in this history,
#   those steps are counted here as this image's own
FROM scratch
ARG GREETING=hello
ARG SPACED="two words here"
# layer 0: 1.0 kB, sha256:000000000000…
# COPY source lost: the classic builder recorded only a content hash (file:0123456789abcdef012…); "busybox" is a placeholder, and any --from=<stage> is lost
COPY busybox /bin/busybox
# layer 1: 2.0 kB, sha256:000000000000…
# guessed: exec-form RUN with build args: argument boundaries guessed
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/usr/local/bin:/usr/bin:/bin APP_HOME=/app
ENV MOTTO="read it back"
LABEL org.opencontainers.image.title="strata single" com.example.team="image forensics" com.example.empty=""
# layer 2: 3.0 kB, sha256:000000000000…
WORKDIR /app
# layer 3: 4.0 kB, sha256:000000000000…
RUN echo "$GREETING" > greeting.txt && echo "$SPACED" > spaced.txt
# layer 4: 5.0 kB, sha256:000000000000…
RUN mkdir -p /tmp/junk && echo junk > /tmp/junk/a && echo keep > /app/keep.txt
# layer 5: 6.0 kB, sha256:000000000000…
RUN rm -rf /tmp/junk /app/keep.txt
SHELL ["/bin/ash", "-e", "-c"]
# layer 6: 7.0 kB, sha256:000000000000…
RUN echo "ran under $0" > /app/shell.txt
EXPOSE 53/udp 8080
VOLUME ["/data", "/var/log/app"]
USER 1000:1000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/bin/true"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo \"$MOTTO\""]
