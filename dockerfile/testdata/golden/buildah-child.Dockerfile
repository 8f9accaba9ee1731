# Dockerfile reconstructed by strata from buildah child of a buildah parent (FROM comment, metadata suffixes, exec RUN as JSON) (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM 127.0.0.1:5000/strata-test/parent:buildah-layers (declared): buildah recorded "FROM
#   127.0.0.1:5000/strata-test/parent:buildah-layers" in the comment of step 7, the first step it
#   added on top of the base (it committed every step, as with --layers): steps 1-6 are the base's;
#   manifest annotations org.opencontainers.image.base.name=""
#   org.opencontainers.image.base.digest="sha256:abababababababababababababababababababababababababababababababab"
# the base annotation gives the digest
#   sha256:abababababababababababababababababababababababababababababababab, which nothing confirms
#   (no catalogued image, provenance or buildinfo record has it), so it is not pinned
# 3 base layers (steps 1-6) folded into FROM
FROM 127.0.0.1:5000/strata-test/parent:buildah-layers
ARG PARENT
# layer 3: 4.0 kB, sha256:000000000000…
RUN echo child > /etc/strata/role && echo child > /etc/strata/child
LABEL com.example.role=child
ENV ROLE=child
HEALTHCHECK NONE
