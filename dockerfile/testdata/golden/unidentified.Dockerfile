# Dockerfile reconstructed by strata from history shorter than the layers (crane append), free text, docker commit (linux/amd64)
# order from the image history, final values from the image config; # notes mark what was guessed or lost
# NOTE: history has 3 non-empty entries but the image has 4 layers; the top 1 layer has no history
# base image not identified: FROM scratch is a placeholder and the whole history follows
FROM scratch
# layer 0: 1.0 kB, sha256:000000000000…
# [unknown] some custom --created-by text
# layer 0 is not made by a Dockerfile instruction: nothing here recreates it
# layer 1: 2.0 kB, sha256:000000000000…
# [unknown] /bin/bash
# layer 1 is not made by a Dockerfile instruction: nothing here recreates it
# layer 2: 3.0 kB, sha256:000000000000…
# [squash] (no created_by) — squashed: merge sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa to sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
# layer 2 is not made by a Dockerfile instruction: nothing here recreates it
# from the image config; no history entry records these:
CMD ["/bin/bash"]
