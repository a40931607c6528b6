#!/usr/bin/env bash
# Builds tools/kstatus (sigs.k8s.io/cli-utils' kstatus reader, used by the tests to check how
# Flux-style tooling reads our conditions) into the tools cache; prints its path.
set -euo pipefail
exec "$(dirname "$0")/build-go-tool.sh" kstatus
