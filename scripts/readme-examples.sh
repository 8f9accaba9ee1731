#!/usr/bin/env bash
# readme-examples.sh — rewrites every example block in README.md
# (<!-- example --> … <!-- /example -->) with what strata really prints for
# the commands the block shows. Read `git diff README.md` before committing.
# The test suite fails when an example and strata's output disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 ./cmd/strata -run '^TestREADMEExamples$' -update-readme
git --no-pager diff --stat README.md
