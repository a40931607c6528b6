#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go modules in tools/envtest/ into a cache folder outside
# the repo, and reuses them when present. A cold build takes many minutes on 2 cores.
#   ENVTEST_BIN   where the binaries go (default ~/.cache/outbound-operator/envtest/<k8s version>)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/envtest-versions.sh"
bin=${ENVTEST_BIN:-$HOME/.cache/outbound-operator/envtest/$K8S_VERSION}
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf '[envtest] %s\n' "$*" >&2; }

if [ -x "$bin/etcd" ] && "$bin/etcd" --version >/dev/null 2>&1; then
  say "etcd: reusing $bin/etcd"
else
  say "etcd $ETCD_VERSION: building (a few minutes on a cold cache)"
  start=$(date +%s)
  (cd "$root/tools/envtest/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd.tmp" "$bin/etcd"
  say "etcd: built in $(( $(date +%s) - start ))s"
fi

if [ -x "$bin/kube-apiserver" ] && "$bin/kube-apiserver" --version 2>/dev/null | grep -q "$K8S_VERSION"; then
  say "kube-apiserver: reusing $bin/kube-apiserver"
else
  say "kube-apiserver $K8S_VERSION: building (10-25 minutes on 2 cores with a cold Go cache)"
  start=$(date +%s)
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w"
  for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ); do
    ld="$ld -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  # -v prints each package as it compiles: progress for a build this long.
  (cd "$root/tools/envtest/apiserver" && go build -v -trimpath -tags=selinux,notest,grpcnotrace \
      -ldflags "$ld" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver 2>&1 |
      awk '{ n++; if (n % 100 == 0) { printf "[envtest] kube-apiserver: %d packages compiled\n", n; fflush() } }' >&2)
  [ -x "$bin/kube-apiserver.tmp" ] || { say "kube-apiserver build failed"; exit 1; }
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
  say "kube-apiserver: built in $(( $(date +%s) - start ))s"
fi
"$bin/kube-apiserver" --version >&2
echo "$bin"
