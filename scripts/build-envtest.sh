#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go modules in tools/envtest/ into a cache folder outside
# the repo, and reuses them when present. A cold build takes many minutes on 2 cores.
#   ENVTEST_BIN   where the binaries go (default ~/.cache/outbound-operator/envtest/<k8s version>)
# Prints the binaries' folder on stdout; progress goes to stderr. The full build output is kept in
# <ENVTEST_BIN>/build-<name>.log, and its tail is printed when a build fails.
#   scripts/build-envtest.sh           etcd and kube-apiserver
#   scripts/build-envtest.sh kubectl   also kubectl of the same version (for machines without one;
#                                      about a minute once kube-apiserver's modules are cached)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/envtest-versions.sh"
bin=${ENVTEST_BIN:-$HOME/.cache/outbound-operator/envtest/$K8S_VERSION}
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf '[envtest] %s\n' "$*" >&2; }

command -v go >/dev/null || { say "go is required to build the envtest binaries (none on PATH)"; exit 1; }

# build_failed NAME LOG: print the end of the full build log and stop.
build_failed() {
  say "$1 build FAILED; last 60 lines of $2:"
  tail -n 60 "$2" >&2
  exit 1
}

# Version stamp of the Kubernetes binaries (hack/lib/version.sh's ldflags).
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ld="-s -w"
for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ); do
  ld="$ld -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done

if [ -x "$bin/etcd" ] && "$bin/etcd" --version >/dev/null 2>&1; then
  say "etcd: reusing $bin/etcd"
else
  say "etcd $ETCD_VERSION: building (a few minutes on a cold cache)"
  start=$(date +%s)
  log=$bin/build-etcd.log
  rm -f "$bin/etcd.tmp"
  if ! (cd "$root/tools/envtest/etcd" &&
        go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3) >"$log" 2>&1; then
    build_failed etcd "$log"
  fi
  mv "$bin/etcd.tmp" "$bin/etcd"
  say "etcd: built in $(( $(date +%s) - start ))s"
fi

if [ -x "$bin/kube-apiserver" ] && "$bin/kube-apiserver" --version 2>/dev/null | grep -q "$K8S_VERSION"; then
  say "kube-apiserver: reusing $bin/kube-apiserver"
else
  say "kube-apiserver $K8S_VERSION: building (about 4 minutes on 2 cores once modules are downloaded, more on a cold Go cache)"
  start=$(date +%s)
  log=$bin/build-kube-apiserver.log
  rm -f "$bin/kube-apiserver.tmp"
  # -v prints each package as it compiles: every line goes to the log, and a progress line every
  # 100 packages goes to stderr. pipefail makes the subshell fail when go build fails.
  if ! (set -o pipefail
        cd "$root/tools/envtest/apiserver" &&
        go build -v -trimpath -tags=selinux,notest,grpcnotrace \
          -ldflags "$ld" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver 2>&1 |
        tee "$log" |
        awk '{ n++; if (n % 100 == 0) { printf "[envtest] kube-apiserver: %d packages compiled\n", n; fflush() } }' >&2); then
    build_failed kube-apiserver "$log"
  fi
  [ -x "$bin/kube-apiserver.tmp" ] || build_failed kube-apiserver "$log"
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
  say "kube-apiserver: built in $(( $(date +%s) - start ))s"
fi
"$bin/kube-apiserver" --version >&2

if [ "${1:-}" = kubectl ]; then
  if [ -x "$bin/kubectl" ] && "$bin/kubectl" version --client 2>/dev/null | grep -q "$K8S_VERSION"; then
    say "kubectl: reusing $bin/kubectl"
  else
    say "kubectl $K8S_VERSION: building"
    start=$(date +%s)
    log=$bin/build-kubectl.log
    # kubectl needs more modules than kube-apiserver (kustomize...): build in a scratch copy of the
    # wrapper module so the go.sum lines that -mod=mod adds never touch the repository.
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    cp "$root/tools/envtest/apiserver/go.mod" "$root/tools/envtest/apiserver/go.sum" "$scratch/"
    rm -f "$bin/kubectl.tmp"
    if ! (cd "$scratch" && go build -trimpath -ldflags "$ld" -o "$bin/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl) >"$log" 2>&1; then
      build_failed kubectl "$log"
    fi
    mv "$bin/kubectl.tmp" "$bin/kubectl"
    say "kubectl: built in $(( $(date +%s) - start ))s"
  fi
fi
echo "$bin"
