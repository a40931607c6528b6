#!/usr/bin/env bash
# `helm upgrade` upgrades the CRDs (run by `make test` as test-chart-upgrade), with the real helm
# against a private local control plane of its own (the CRDs are cluster-wide: the shared plane's
# suites must not see an older schema, and helm must find no CRDs another release owns):
#  1. the chart as built with the CRDs of UPGRADE_FROM_COMMIT (scripts/upgrade-from.env), put
#     wherever this chart keeps its CRDs (files/crds.yaml for the templates, or crds/), is
#     installed: the API server serves that older schema, and an OutboundTask is created under it;
#  2. `helm upgrade` to this chart: the API server serves this chart's schema (each version's
#     openAPIV3Schema equal to crds/outbound.dev_crds.yaml's), and the OutboundTask is still there;
#  3. the chart of UPGRADE_FROM_COMMIT itself, which shipped its CRDs in crds/, then the commands
#     docs/how-to/upgrade.md gives before the first upgrade, then `helm upgrade` to this chart:
#     this chart's schema is served.
# With the CRDs in crds/, which Helm installs once and never upgrades, step 2 fails.
# helm is built from tools/helm (scripts/build-go-tool.sh helm, cached).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/upgrade-from.env
commit=$UPGRADE_FROM_COMMIT

say() { printf '[chart-upgrade] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

git cat-file -e "$commit^{commit}" 2>/dev/null ||
  fail "commit $commit (scripts/upgrade-from.env) is not in this clone (a shallow clone? git fetch --unshallow)"
helm=$(scripts/build-go-tool.sh helm)
kubectl=$(scripts/kubectl.sh)
chart=charts/outbound-operator
crds=crds/outbound.dev_crds.yaml

work=$(mktemp -d)
plane=$work/plane
cleanup() { ENVTEST_DIR=$plane scripts/envtest.sh down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data
eval "$(ENVTEST_DIR=$plane scripts/envtest.sh up)"
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
say "private plane up ($KUBECONFIG); $("$helm" version --short); upgrading from ${commit:0:7}"

git show "$commit:crds/outbound.dev_crds.yaml" >"$work/old-crds.yaml"

# served_is FILE: 0 when every CRD of FILE is served with FILE's schema for each of its versions;
# otherwise says which differ.
served_is() {
  k get crd -o json >"$work/served.json"
  python3 - "$work/served.json" "$1" <<'PY'
import json, sys, yaml
served = {c["metadata"]["name"]: c for c in json.load(open(sys.argv[1]))["items"]}
differ = []
for crd in (d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d.get("kind") == "CustomResourceDefinition"):
    name = crd["metadata"]["name"]
    have = {v["name"]: v["schema"] for v in served.get(name, {}).get("spec", {}).get("versions", [])}
    for version in crd["spec"]["versions"]:
        if have.get(version["name"]) != version["schema"]:
            differ.append(f'{name} {version["name"]}')
if differ:
    print("served schema differs from " + sys.argv[2] + ": " + ", ".join(differ), file=sys.stderr)
    sys.exit(1)
PY
}
established() {
  k wait --for=condition=Established --timeout=60s crd/outboundtasks.outbound.dev crd/outboundaccounts.outbound.dev >/dev/null
}
# The schema served once the API server has taken in an update (retried for a few seconds).
wait_served() {
  local i
  for i in $(seq 50); do
    served_is "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  served_is "$1"
}

if python3 - "$work/old-crds.yaml" "$crds" <<'PY'; then
import sys, yaml
load = lambda f: [d["spec"]["versions"] for d in yaml.safe_load_all(open(f)) if d]
sys.exit(0 if load(sys.argv[1]) == load(sys.argv[2]) else 1)
PY
  fail "the CRDs of ${commit:0:7} equal crds/: this test would show nothing (move UPGRADE_FROM_COMMIT to a commit with another schema)"
fi

# 1. The chart with the older CRDs, wherever this chart keeps them.
cp -r "$chart" "$work/older"
placed=0
for file in "$work/older/files/crds.yaml" "$work/older"/crds/*.yaml; do
  [ -f "$file" ] || continue
  cp "$work/old-crds.yaml" "$file"
  placed=$((placed + 1))
done
[ "$placed" -gt 0 ] || fail "found no CRD file in $chart (files/crds.yaml or crds/)"
ns=upgrade
"$helm" install outbound "$work/older" -n "$ns" --create-namespace --set replicaCount=1 >/dev/null 2>"$work/err" ||
  fail "helm install of the chart with ${commit:0:7}'s CRDs: $(cat "$work/err")"
established
served_is "$work/old-crds.yaml" || fail "after installing the chart with ${commit:0:7}'s CRDs, their schema is not served"
k apply -n "$ns" --server-side -f manifests/examples/task-unified.yaml >/dev/null || fail "creating a task under the older CRDs"
say "installed with ${commit:0:7}'s CRDs: their schema is served, a task created"

# 2. helm upgrade to this chart.
"$helm" upgrade outbound "$chart" -n "$ns" --set replicaCount=1 >/dev/null 2>"$work/err" ||
  fail "helm upgrade to this chart: $(cat "$work/err")"
established
wait_served "$crds" || fail "after helm upgrade the API server still serves ${commit:0:7}'s CRDs, not this chart's (CRDs in crds/ are never upgraded by Helm)"
k get otask -n "$ns" unified-campaign >/dev/null || fail "the task created before the upgrade is gone"
say "helm upgrade: this chart's schema is served, the task is still there: ok"

# 3. The chart of that commit as it was (CRDs in crds/), upgraded after docs/how-to/upgrade.md's
# commands. From a plane without CRDs: the release above is uninstalled (it keeps them), the task
# and the CRDs deleted.
"$helm" uninstall outbound -n "$ns" >/dev/null || fail "helm uninstall"
k delete otask -n "$ns" --all --wait=true >/dev/null
k delete crd outboundtasks.outbound.dev outboundaccounts.outbound.dev --wait=true --timeout=60s >/dev/null ||
  fail "deleting the CRDs between the two cases"
git archive "$commit" "$chart" | tar -x -C "$work" --transform "s|^$chart|released|"
[ -d "$work/released/crds" ] || fail "the chart of ${commit:0:7} has no crds/: step 3 assumes the chart that shipped them there"
"$helm" install old "$work/released" -n "$ns" --set replicaCount=1 >/dev/null 2>"$work/err" ||
  fail "helm install of the chart of ${commit:0:7}: $(cat "$work/err")"
established
served_is "$work/old-crds.yaml" || fail "the chart of ${commit:0:7} did not install its CRDs"
# docs/how-to/upgrade.md, "From chart 0.1.0", for a release named old in namespace upgrade:
sed -n '/^for crd in outboundtasks/,/^done$/p' docs/how-to/upgrade.md |
  sed -e 's/release-name=outbound/release-name=old/' -e "s/release-namespace=outbound-system/release-namespace=$ns/" \
    -e "s|kubectl |\"\$kubectl\" --kubeconfig \"\$KUBECONFIG\" |" >"$work/handover.sh"
grep -q 'meta.helm.sh/release-name=old' "$work/handover.sh" || fail "docs/how-to/upgrade.md no longer holds the hand-over commands this test runs"
kubectl=$kubectl bash -euo pipefail "$work/handover.sh" >/dev/null || fail "the hand-over commands of docs/how-to/upgrade.md"
"$helm" upgrade old "$chart" -n "$ns" --set replicaCount=1 >/dev/null 2>"$work/err" ||
  fail "helm upgrade from the chart of ${commit:0:7} after docs/how-to/upgrade.md's commands: $(cat "$work/err")"
established
wait_served "$crds" || fail "after upgrading the chart of ${commit:0:7}, its CRDs are still served"
say "the chart of ${commit:0:7} (CRDs in crds/), docs/how-to/upgrade.md's commands, helm upgrade: this chart's schema is served: ok"
say "all chart upgrade checks passed"
