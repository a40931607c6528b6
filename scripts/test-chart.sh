#!/usr/bin/env bash
# Tests the Helm chart charts/outbound-operator against the real tools (run by `make test`):
#  1. `helm lint --strict` with the default values and with tests/fixtures/chart-values-namespaced.yaml
#     (namespaced RBAC, monitoring on); values.schema.json rejects wrong values;
#  2. both renderings (`helm template --include-crds`) are applied to the local API server with
#     server-side dry-run, after installing the ServiceMonitor and PrometheusRule CRDs shipped in
#     the prometheus-operator Go module;
#  3. the rendered Deployment's args are accepted by the operator binary (`outbound-operator <args>
#     --help`: clap parses and checks every flag and value before it handles --help), and an
#     unknown flag is refused;
#     each shard's release (sharding.shard, sharding.remainder) passes its --watch-label-selector,
#     also accepted by the binary, and has a Lease of its own;
#  4. NOTES.txt says how to create the token Secret and the first account;
#  6. install, upgrade and uninstall without traps (review I6, I9-I12, I18-I20): the CRDs are
#     templates (updated by `helm upgrade`) kept on uninstall, equal to crds/; no PDB with one
#     replica and `Recreate` without leader election; an `extraArgs` flag the chart already sets
#     overrides it; no --leader-election-id unless leaderElection.leaseName (the operator derives
#     the Lease from its scope, as with kustomize); a startup probe and a grace period for a
#     bounded operation; JSON logs; the pods pass Pod Security "restricted";
#  7. `helm install` over CRDs applied without Helm, after the commands docs/how-to/upgrade.md
#     gives, then `helm upgrade`, then `helm uninstall`, which keeps the CRDs and the tasks;
#  5. the ClusterRole's rules equal manifests/clusterrole.yaml's; the namespaced install, applied
#     for real, lets the operator's ServiceAccount act in its namespace only and gives it nothing
#     cluster-wide; the PrometheusRule and the dashboard ConfigMap carry the files of
#     manifests/monitoring; both carry the `release` label kube-prometheus-stack selects by
#     (monitoring.prometheusRelease).
# helm is built from tools/helm (scripts/build-go-tool.sh helm, cached). Needs KUBECONFIG.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '[chart] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[ -n "${KUBECONFIG:-}" ] || fail "KUBECONFIG is not set: run \`make test\`, or eval \"\$(scripts/envtest.sh up)\" first"
helm=$(scripts/build-go-tool.sh helm)
kubectl=$(scripts/kubectl.sh)
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
say "using $("$helm" version --short) and $("$kubectl" version --client 2>/dev/null | head -1)"
cargo build -q --bin outbound-operator
operator=${CARGO_TARGET_DIR:-$root/target}/debug/outbound-operator

chart=charts/outbound-operator
custom=tests/fixtures/chart-values-namespaced.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A fresh HOME-like state for helm: no repositories, no plugins, no cache from the machine.
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data

# 1. lint and schema.
"$helm" lint --strict "$chart" >&2 || fail "helm lint --strict (default values)"
"$helm" lint --strict "$chart" -f "$custom" >&2 || fail "helm lint --strict -f $custom"
for bad in concurrency=many watchNamespace=Team_A logFormat=xml replicas=2 monitoring.serviceMonitor.interval=often \
    sharding.shard=-shard1 sharding.key=Bad_Prefix/key sharding.remainder=yes convergenceAttempts=0; do
  if "$helm" template t "$chart" --set "$bad" >/dev/null 2>"$work/err"; then
    fail "values.schema.json accepted --set $bad"
  fi
  grep -q "values don't meet the specifications of the schema" "$work/err" ||
    fail "--set $bad failed for another reason than the schema: $(cat "$work/err")"
done
if "$helm" template t "$chart" --set leaderElection.enabled=false >/dev/null 2>&1; then
  fail "2 replicas without leader election rendered"
fi
say "helm lint --strict (default and custom values), schema rejects wrong values: ok"

# 2. render and apply with server-side dry-run.
crds=$(scripts/prometheus-operator-crds.sh)
k apply --server-side --field-manager=outbound-chart-test \
  -f "$crds/monitoring.coreos.com_servicemonitors.yaml" -f "$crds/monitoring.coreos.com_prometheusrules.yaml" >/dev/null ||
  fail "installing the prometheus-operator CRDs"
k wait --for=condition=Established --timeout=60s crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null ||
  fail "prometheus-operator CRDs not Established"

suffix=$(tr -dc 'a-z0-9' </dev/urandom | head -c 5 || true)
release_ns=chart-$suffix
watch_ns=chart-team-a
for ns in "$release_ns" "$watch_ns" chart-grafana; do
  k create namespace "$ns" --dry-run=client -o yaml | k apply --server-side -f - >/dev/null
done
cleanup() { k delete namespace "$release_ns" --wait=false >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$helm" template outbound "$chart" -n "$release_ns" --include-crds >"$work/default.yaml" || fail "helm template (default)"
"$helm" template campaigns "$chart" -n "$release_ns" --include-crds -f "$custom" >"$work/custom.yaml" || fail "helm template -f $custom"

kinds() { grep '^kind: ' "$1" | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
for kind in CustomResourceDefinition ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding FlowSchema Deployment Service PodDisruptionBudget; do
  grep -q "^kind: $kind$" "$work/default.yaml" || fail "the default rendering has no $kind: $(kinds "$work/default.yaml")"
done
for kind in ServiceMonitor PrometheusRule ConfigMap; do
  grep -q "^kind: $kind$" "$work/default.yaml" && fail "the default rendering has a $kind (monitoring is off by default)"
  grep -q "^kind: $kind$" "$work/custom.yaml" || fail "the custom rendering has no $kind"
done
for kind in ClusterRole ClusterRoleBinding; do
  grep -q "^kind: $kind$" "$work/custom.yaml" && fail "the namespaced rendering has a $kind"
done
say "default: $(kinds "$work/default.yaml")"
say "custom:  $(kinds "$work/custom.yaml")"

for rendering in default custom; do
  k apply --server-side --dry-run=server --field-manager=outbound-chart-test -f "$work/$rendering.yaml" -o json \
    >"$work/$rendering.json" || fail "the API server rejected the $rendering rendering (above)"
done
say "server-side dry-run of both renderings: ok"
# The FlowSchema is manifests/flowschema.yaml's (tested against the API server by
# scripts/test-manifests.sh), for the release's ServiceAccount and namespace.
python3 - "$work/default.yaml" manifests/flowschema.yaml "$release_ns" <<'PY' || fail "the chart's FlowSchema differs from manifests/flowschema.yaml"
import sys, yaml
rendered = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "FlowSchema"]
shipped = yaml.safe_load(open(sys.argv[2]))["spec"]
assert len(rendered) == 1, rendered
spec, namespace = rendered[0]["spec"], sys.argv[3]
rule = spec["rules"][0]
subject = rule["subjects"][0]["serviceAccount"]
assert subject["namespace"] == namespace and rule["resourceRules"][0]["namespaces"] == [namespace], rule
subject["name"], subject["namespace"] = "outbound-operator", "outbound-system"
rule["resourceRules"][0]["namespaces"] = ["outbound-system"]
assert spec == shipped, (spec, shipped)
PY
"$helm" template t "$chart" --set leaderElection.flowSchema=false | grep -q '^kind: FlowSchema$' &&
  fail "leaderElection.flowSchema=false still renders a FlowSchema"
say "FlowSchema as manifests/flowschema.yaml's, for the release's ServiceAccount; optional: ok"

# 4. NOTES.txt, as `helm install` prints it (here: helm needs the CRDs above), says how to create
# the token Secret and the first account.
for values in "" "$custom"; do
  # crds.enabled=false: the CRDs on this plane were applied without Helm's ownership metadata, which
  # helm install refuses to take over (as for a user moving from kustomize: docs/how-to/upgrade.md).
  "$helm" install notes "$chart" -n "$release_ns" --dry-run=client --set crds.enabled=false ${values:+-f "$values"} >"$work/install.txt" ||
    fail "helm install --dry-run=client ${values:+-f $values}"
  sed -n '/^NOTES:/,$p' "$work/install.txt" >"$work/notes.txt"
  ns_flag="-n <your-namespace>"
  [ -n "$values" ] && ns_flag="-n $watch_ns"
  for want in "kubectl $ns_flag create secret generic platform-token" "kind: OutboundAccount" \
      "tokenSecretRef: {name: platform-token, key: token}" "kubectl $ns_flag get oacct main" \
      "READY appears once a task of the account was reconciled" "manifests/examples/simulator/"; do
    grep -qF -- "$want" "$work/notes.txt" || fail "NOTES.txt ${values:+(-f $values) }lacks '$want': $(cat "$work/notes.txt")"
  done
  # First-hour advice that hurts (review I12): a burst the platform may refuse, a READY that never
  # comes for an account without tasks, the whole examples folder (the simulator's Secret and account).
  for bad in "burst: 20" "READY True" "examples: manifests/examples/ in"; do
    grep -qF -- "$bad" "$work/notes.txt" && fail "NOTES.txt ${values:+(-f $values) }says '$bad'"
  done
done
say "NOTES.txt explains the token Secret and the first account: ok"

# 3. the Deployment's flags, as the binary parses them.
# field FILE.json PYTHON-EXPRESSION over `items` (the applied objects).
field() {
  python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
items = doc["items"] if doc.get("kind") == "List" else [doc]
print(json.dumps(eval(sys.argv[2], {"items": items, "kind": lambda k: [i for i in items if i["kind"] == k]})))
PY
}
args_of() { field "$1" 'kind("Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]' |
  python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))'; }
for rendering in default custom; do
  mapfile -t args < <(args_of "$work/$rendering.json")
  [ "${#args[@]}" -gt 1 ] || fail "no args in the $rendering Deployment"
  "$operator" "${args[@]}" --help >/dev/null 2>"$work/err" ||
    fail "the operator refuses the $rendering Deployment's args (${args[*]}): $(cat "$work/err")"
  say "$rendering args accepted by $operator: ${args[*]}"
done
mapfile -t args < <(args_of "$work/custom.json")
grep -qx -- '--namespace=chart-team-a' <<<"$(printf '%s\n' "${args[@]}")" || fail "the namespaced install does not pass --namespace"
grep -qx -- '--leader-elect' <<<"$(printf '%s\n' "${args[@]}")" || fail "leader election is not on by default"
[ "$(field "$work/default.json" 'kind("Deployment")[0]["spec"]["replicas"]')" = 2 ] || fail "replicas is not 2 by default"
"$helm" template t "$chart" --set 'extraArgs={--no-such-flag}' --show-only templates/deployment.yaml |
  k apply --dry-run=client -f - -o json >"$work/bad.json"
mapfile -t args < <(args_of "$work/bad.json")
if "$operator" "${args[@]}" --help >/dev/null 2>&1; then
  fail "the flag check accepts an unknown flag"
fi
say "Deployment flags parse with the binary; an unknown flag is refused: ok"

# 3b. shards: one release per shard and one for the remainder, each with its selector (accepted
# by the binary) and its own Lease; a release cannot be both.
grep -q -- '--watch-label-selector' <<<"$(printf '%s\n' "$(args_of "$work/default.json")")" &&
  fail "the default install is sharded"
# No release passes --leader-election-id: each operator derives its Lease from its scope.
leases=()
for shard in "shard1 --set sharding.shard=shard1" "shard2 --set sharding.shard=shard2" "main --set sharding.remainder=true"; do
  read -r release set value <<<"$shard"
  "$helm" template "$release" "$chart" -n "$release_ns" "$set" "$value" --show-only templates/deployment.yaml |
    k apply --dry-run=client -f - -o json >"$work/shard.json" || fail "helm template $release $set $value"
  mapfile -t args < <(args_of "$work/shard.json")
  want=--watch-label-selector=sharding.fluxcd.io/key=$release
  [ "$release" = main ] && want='--watch-label-selector=!sharding.fluxcd.io/key'
  grep -qxF -- "$want" <<<"$(printf '%s\n' "${args[@]}")" || fail "release $release lacks $want: ${args[*]}"
  "$operator" "${args[@]}" --help >/dev/null 2>"$work/err" ||
    fail "the operator refuses the $release shard's args (${args[*]}): $(cat "$work/err")"
  grep -q -- '^--leader-election-id' <<<"$(printf '%s\n' "${args[@]}")" && fail "release $release names its Lease: ${args[*]}"
  leases+=("$release")
done
if "$helm" template t "$chart" --set sharding.shard=shard1 --set sharding.remainder=true >/dev/null 2>&1; then
  fail "a release that is both a shard and the remainder rendered"
fi
say "shards: each release's selector parses with the binary, each derives its own Lease (${leases[*]}): ok"

# 6. install, upgrade and uninstall without traps.
show() { "$helm" template outbound "$chart" -n "$release_ns" "$@"; }
python3 - "$work/default.yaml" crds/outbound.dev_crds.yaml <<'PY' || fail "the chart's CRDs (above)"
import sys, yaml
# As helm renders them (the server-side dry run adds defaults to the spec).
rendered = {d["metadata"]["name"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "CustomResourceDefinition"}
source = {d["metadata"]["name"]: d for d in yaml.safe_load_all(open(sys.argv[2])) if d}
assert sorted(rendered) == sorted(source), (sorted(rendered), sorted(source))
for name, crd in rendered.items():
    assert crd["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep", crd["metadata"]
    assert crd["spec"] == source[name]["spec"], f"{name}: the chart's copy differs from crds/ (make crds)"
PY
[ -e "$chart/crds" ] && fail "$chart/crds/ exists: Helm never updates (nor deletes) what it holds"
grep -q 'helm.sh/resource-policy' <<<"$(show --show-only templates/crds.yaml --set crds.keep=false)" &&
  fail "crds.keep=false still keeps the CRDs"
grep -q '^kind: CustomResourceDefinition$' <<<"$(show --set crds.enabled=false)" && fail "crds.enabled=false renders CRDs"
say "CRDs: templates equal to crds/, kept on uninstall (crds.keep), optional (crds.enabled): ok"

show --set replicaCount=1 --set leaderElection.enabled=false >"$work/single.yaml"
grep -q '^kind: PodDisruptionBudget$' "$work/single.yaml" && fail "a PDB with one replica blocks every drain"
grep -qx '    type: Recreate' "$work/single.yaml" || fail "no Recreate strategy without leader election"
grep -q '^kind: PodDisruptionBudget$' <<<"$(show --set replicaCount=1)" && fail "a PDB with one replica (leader election on)"
grep -q 'type: Recreate' <<<"$(show --show-only templates/deployment.yaml)" && fail "Recreate with leader election"
say "PDB only with more than one replica, Recreate without leader election: ok"

show --set 'extraArgs={--concurrency=16,--list-page-size=200}' --show-only templates/deployment.yaml |
  k apply --dry-run=client -f - -o json >"$work/extra.json"
mapfile -t args < <(args_of "$work/extra.json")
grep -qx -- '--concurrency=8' <<<"$(printf '%s\n' "${args[@]}")" || fail "the chart no longer sets --concurrency itself: ${args[*]}"
"$operator" "${args[@]}" --help >/dev/null 2>"$work/err" ||
  fail "an extraArgs flag the chart already sets is refused (${args[*]}): $(cat "$work/err")"
say "extraArgs may repeat a flag the chart sets (the last wins): ok"

mapfile -t args < <(args_of "$work/default.json")
grep -q -- '--leader-election-id' <<<"$(printf '%s\n' "${args[@]}")" && fail "the default install names its Lease: ${args[*]}"
grep -qx -- '--log-format=json' <<<"$(printf '%s\n' "${args[@]}")" || fail "the chart does not log JSON: ${args[*]}"
grep -qF -- '--leader-election-id=old-leader' <<<"$(show --set leaderElection.leaseName=old-leader --show-only templates/deployment.yaml)" ||
  fail "leaderElection.leaseName is not passed"
python3 - "$work/default.json" <<'PY' || fail "probes and grace period"
import json, sys
pod = [i for i in json.load(open(sys.argv[1]))["items"] if i["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
assert pod["terminationGracePeriodSeconds"] >= 120, pod["terminationGracePeriodSeconds"]
container = pod["containers"][0]
assert container["startupProbe"]["httpGet"]["path"] == "/healthz", container
assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", container
PY
say "Lease from the scope (leaseName overrides), JSON logs, startup probe, 120 s grace: ok"

psa_ns=chart-psa-$suffix
k create namespace "$psa_ns" --dry-run=client -o yaml | k apply --server-side -f - >/dev/null
k label namespace "$psa_ns" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
show --show-only templates/deployment.yaml | sed "s/namespace: $release_ns/namespace: $psa_ns/" |
  k apply --server-side --dry-run=server --field-manager=outbound-chart-test -f - >/dev/null 2>"$work/err" ||
  fail "the Deployment in a restricted namespace: $(cat "$work/err")"
grep -i "violate PodSecurity" "$work/err" && fail "the chart's pods violate Pod Security restricted"
k delete namespace "$psa_ns" --wait=false >/dev/null 2>&1 || true
say "the chart's pods pass Pod Security restricted: ok"

# 7. A real `helm install` over CRDs applied without Helm (as kustomize and chart 0.1.0 leave them),
# after the commands of docs/how-to/upgrade.md; then `helm uninstall` keeps the CRDs and the tasks.
for crd in outboundtasks.outbound.dev outboundaccounts.outbound.dev; do
  k label crd "$crd" app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
  k annotate crd "$crd" meta.helm.sh/release-name=keep meta.helm.sh/release-namespace="$release_ns" --overwrite >/dev/null
done
"$helm" install keep "$chart" -n "$release_ns" --set replicaCount=1 >/dev/null 2>"$work/err" ||
  fail "helm install over the existing CRDs, after docs/how-to/upgrade.md's commands: $(cat "$work/err")"
"$helm" upgrade keep "$chart" -n "$release_ns" --set replicaCount=1 --set concurrency=4 >/dev/null 2>"$work/err" ||
  fail "helm upgrade: $(cat "$work/err")"
k apply -n "$release_ns" -f manifests/examples/task-unified.yaml >/dev/null || fail "creating a task"
"$helm" uninstall keep -n "$release_ns" >"$work/uninstall.txt" 2>&1 || fail "helm uninstall: $(cat "$work/uninstall.txt")"
for crd in outboundtasks.outbound.dev outboundaccounts.outbound.dev; do
  [ -z "$(k get crd "$crd" -o jsonpath='{.metadata.deletionTimestamp}')" ] ||
    fail "helm uninstall deletes the CRD $crd: $(cat "$work/uninstall.txt")"
done
k get otask -n "$release_ns" unified-campaign >/dev/null || fail "helm uninstall deleted a task"
k delete otask -n "$release_ns" unified-campaign --wait=false >/dev/null
say "helm install over existing CRDs (docs/how-to/upgrade.md), upgrade, uninstall keeps the CRDs and the tasks: ok"


# 5. RBAC and monitoring contents.
python3 - "$work/default.json" manifests/clusterrole.yaml <<'PY' || fail "the chart's ClusterRole differs from manifests/clusterrole.yaml"
import json, sys, re
rendered = [i for i in json.load(open(sys.argv[1]))["items"] if i["kind"] == "ClusterRole"][0]["rules"]
# manifests/clusterrole.yaml in flow style: collect each rule's three lists.
text = open(sys.argv[2]).read().split("---")[0]
lists = re.findall(r'(apiGroups|resources|verbs): \[([^\]]*)\]', text)
want, rule = [], {}
for key, values in lists:
    rule[key] = [v.strip().strip('"') for v in values.split(",")]
    if key == "verbs":
        want.append(rule); rule = {}
if rendered != want:
    print("chart:    ", rendered, "\nmanifests:", want, file=sys.stderr); sys.exit(1)
PY
# Without the CRDs: they are shared by this plane's other suites, and deleting them (below) would
# delete every OutboundTask with them (review I6).
"$helm" template campaigns "$chart" -n "$release_ns" -f "$custom" --set crds.enabled=false >"$work/custom-app.yaml" ||
  fail "helm template -f $custom --set crds.enabled=false"
k apply --server-side --field-manager=outbound-chart-test -f "$work/custom-app.yaml" >/dev/null || fail "applying the namespaced rendering"
sa=system:serviceaccount:$release_ns:campaigns-outbound-operator
bad=0
can() { # expected verb resource [flags...]
  local want=$1; shift
  local got
  got=$(k auth can-i "$@" --as="$sa" 2>/dev/null || true)
  [ "$got" = "$want" ] || { say "RBAC: can-i $* = '$got', want $want"; bad=1; }
}
can yes list outboundtasks.outbound.dev -n "$watch_ns"
can yes patch outboundtasks.outbound.dev --subresource=status -n "$watch_ns"
can yes get secrets -n "$watch_ns"
can yes create events.events.k8s.io -n "$watch_ns"
can yes update leases.coordination.k8s.io -n "$release_ns"
can no list outboundtasks.outbound.dev -n default
can no list outboundtasks.outbound.dev -A
can no get secrets -n default
can no update leases.coordination.k8s.io -n "$watch_ns"
# Exactly the verbs the code uses (review I17), as manifests/role.yaml and clusterrole.yaml.
can no patch leases.coordination.k8s.io -n "$release_ns"
can no update outboundtasks.outbound.dev -n "$watch_ns"
can no get outboundtasks.outbound.dev -n "$watch_ns"
can no patch events -n "$watch_ns"
[ "$bad" = 0 ] || fail "the namespaced install's RBAC (above)"
k delete -f "$work/custom-app.yaml" --ignore-not-found --wait=false >/dev/null 2>&1 || true
python3 - "$work/custom.json" <<'PY' || fail "monitoring objects of the custom rendering"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
one = lambda kind: [i for i in items if i["kind"] == kind][0]
groups = one("PrometheusRule")["spec"]["groups"]
alerts = sorted(r["alert"] for g in groups for r in g["rules"])
assert len(alerts) >= 7, alerts
dashboard = one("ConfigMap")
assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1", dashboard["metadata"]
assert dashboard["metadata"]["namespace"] == "chart-grafana", dashboard["metadata"]
panels = json.loads(dashboard["data"]["outbound-operator.json"])["panels"]
assert panels == json.load(open("manifests/monitoring/dashboard.json"))["panels"]
monitor = one("ServiceMonitor")
assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
service = one("Service")
assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
print("alerts:", ", ".join(alerts))
PY
say "RBAC of the namespaced install, PrometheusRule, ServiceMonitor, dashboard ConfigMap: ok"

# 5b. kube-prometheus-stack selects ServiceMonitors and PrometheusRules by `release: <its release>`
# (review I8): monitoring.prometheusRelease puts that label on both, kube-prometheus-stack by
# default; "" puts none; an explicit `release` in their labels wins.
release_labels() { # helm-args... -> "<ServiceMonitor's release>,<PrometheusRule's release>"
  "$helm" template t "$chart" --set monitoring.serviceMonitor.enabled=true --set monitoring.prometheusRule.enabled=true "$@" \
    --show-only templates/servicemonitor.yaml --show-only templates/prometheusrule.yaml |
    k apply --dry-run=client -f - -o json >"$work/labels.json" || fail "helm template $*"
  python3 - "$work/labels.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
items = doc["items"] if doc.get("kind") == "List" else [doc]
release = {i["kind"]: i["metadata"].get("labels", {}).get("release", "") for i in items}
print(f'{release["ServiceMonitor"]},{release["PrometheusRule"]}')
PY
}
check_release() { # want helm-args...
  local want=$1 got; shift
  got=$(release_labels "$@")
  [ "$got" = "$want" ] || fail "release labels of ServiceMonitor,PrometheusRule with [$*]: '$got', want '$want'"
}
check_release kube-prometheus-stack,kube-prometheus-stack
check_release monitoring,monitoring --set monitoring.prometheusRelease=monitoring
check_release , --set monitoring.prometheusRelease=
check_release mine,kube-prometheus-stack --set monitoring.serviceMonitor.labels.release=mine
if "$helm" template t "$chart" --set 'monitoring.prometheusRelease=Not A Label' >/dev/null 2>&1; then
  fail "values.schema.json accepted monitoring.prometheusRelease='Not A Label'"
fi
say "ServiceMonitor and PrometheusRule carry release: kube-prometheus-stack (monitoring.prometheusRelease): ok"
say "all chart checks passed"
