#!/usr/bin/env bash
# Builds tools/kstatus (sigs.k8s.io/cli-utils' kstatus reader, used by the tests to check how
# Flux-style tooling reads our conditions) into the envtest cache; prints its path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/envtest-versions.sh"
bin=${ENVTEST_BIN:-$HOME/.cache/outbound-operator/envtest/$K8S_VERSION}
mkdir -p "$bin"
stamp=$(sha256sum "$root/tools/kstatus/go.sum" "$root/tools/kstatus/main.go" | sha256sum | cut -c1-12)
out="$bin/kstatus-$stamp"
if [ ! -x "$out" ]; then
  echo "[kstatus] building tools/kstatus (about a minute on a cold Go cache)" >&2
  (cd "$root/tools/kstatus" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" .)
  mv "$out.tmp" "$out"
fi
echo "$out"
