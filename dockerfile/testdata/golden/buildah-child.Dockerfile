# Dockerfile reconstructed by strata from buildah child of a buildah parent (FROM comment, metadata suffixes, exec RUN as JSON) (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# FROM 127.0.0.1:5000/strata-test/parent:buildah-layers@sha256:abababababababababababababababababababababababababababababababab: buildah's history comment "FROM 127.0.0.1:5000/strata-test/parent:buildah-layers"; the base's steps end before history entry 6 (buildah's FROM comment)
# 3 base layers (6 history entries) folded into FROM
FROM 127.0.0.1:5000/strata-test/parent:buildah-layers@sha256:abababababababababababababababababababababababababababababababab
ARG PARENT
# layer 3: 4.0 kB, sha256:000000000000…
RUN echo child > /etc/strata/role && echo child > /etc/strata/child
LABEL com.example.role=child
ENV ROLE=child
HEALTHCHECK NONE
