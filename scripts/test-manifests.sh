#!/usr/bin/env bash
# Checks the install manifests against the local control plane (run by `make test`):
#  1. `kubectl kustomize manifests/crds` builds the CRDs alone, and `kubectl kustomize manifests`
#     the app (namespace, RBAC, Deployment, Service, PDB) without them, so that deleting or
#     pruning the app never deletes the CRDs and every OutboundTask with them;
#  2. both are applied server-side for real (the apiserver validates every object, and the
#     CRDs must be accepted and Established); the pod template passes Pod Security "restricted";
#  3. the operator's ServiceAccount can do what the controller needs, and no more (RBAC as the
#     apiserver evaluates it);
#  4. the examples apply as a user would (`kubectl apply -f manifests/examples/simulator -f
#     manifests/examples`, kubectl's strict field validation) and show in `kubectl get otask`;
#     `kubectl explain` shows the API field names;
#  4b. API Priority and Fairness: a Lease renewal by the operator's ServiceAccount (a PUT, as the
#     operator renews) is classified under manifests/flowschema.yaml's FlowSchema (the API
#     server's X-Kubernetes-PF-FlowSchema-UID response header names it), in `leader-election`;
#  5. overlays/sharding (the install as the remainder, plus a shard1 Deployment) builds, passes a
#     server-side dry run, and its Deployments' flags parse with the operator binary.
# Needs KUBECONFIG (eval "$(scripts/envtest.sh up)"). KUBECTL overrides the kubectl used; without
# one on PATH, kubectl is built from tools/envtest (scripts/build-envtest.sh kubectl).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '[manifests] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

kubectl=$(scripts/kubectl.sh)
say "using $($kubectl version --client 2>/dev/null | head -1) ($(command -v "$kubectl"))"

bundle=$(mktemp)
crd_bundle=$(mktemp)
trap 'rm -f "$bundle" "$crd_bundle"' EXIT
"$kubectl" kustomize manifests/crds >"$crd_bundle" || fail "kubectl kustomize manifests/crds"
[ "$(grep -c '^kind: CustomResourceDefinition$' "$crd_bundle")" = 2 ] || fail "manifests/crds must hold both CRDs"
[ "$(grep -c '^kind:' "$crd_bundle")" = 2 ] || fail "manifests/crds must hold the CRDs only"
"$kubectl" kustomize manifests >"$bundle" || fail "kubectl kustomize manifests"
for kind in Namespace ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding FlowSchema Deployment Service PodDisruptionBudget; do
  grep -q "^kind: $kind$" "$bundle" || fail "the bundle has no $kind"
done
grep -q '^kind: CustomResourceDefinition$' "$bundle" &&
  fail "manifests/ holds the CRDs: \`kubectl delete -k manifests\` would delete every OutboundTask"
say "kubectl kustomize manifests/crds (2 CRDs) and manifests: ok ($(grep -c '^kind:' "$bundle") objects, no CRD)"

[ -n "${KUBECONFIG:-}" ] || fail "KUBECONFIG is not set: run \`make test\`, or eval \"\$(scripts/envtest.sh up)\" first"
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }

k apply --server-side --force-conflicts --field-manager=outbound-manifests-test -f "$crd_bundle" >/dev/null ||
  fail "the apiserver rejected manifests/crds (above)"
k wait --for=condition=Established --timeout=60s crd/outboundtasks.outbound.dev crd/outboundaccounts.outbound.dev >/dev/null ||
  fail "CRDs not Established"
k apply --server-side --force-conflicts --field-manager=outbound-manifests-test -f "$bundle" >/dev/null 2>"$bundle.err" ||
  fail "the apiserver rejected the bundle: $(cat "$bundle.err")"
# namespace.yaml enforces Pod Security "restricted"; the API server warns about a Deployment whose
# pods it would refuse.
grep -i "violate PodSecurity" "$bundle.err" && fail "the Deployment's pods violate Pod Security restricted"
rm -f "$bundle.err"
say "server-side apply of manifests/crds, then of the bundle: ok"

sa=system:serviceaccount:outbound-system:outbound-operator
bad=0
can() { # expected(yes|no) verb resource [flags...]
  local want=$1; shift
  local got
  got=$(k auth can-i "$@" --as="$sa" 2>/dev/null || true)
  if [ "$got" != "$want" ]; then
    say "RBAC: can-i $* = '$got', want $want"
    bad=1
  fi
}
# Exactly the verbs the code uses (review I17): list/watch of both kinds (no get by name), JSON
# patches of the task (the finalizer), server-side-apply patches of both statuses, created
# events.k8s.io Events; Secrets get/list/watch.
for verb in list watch; do
  can yes "$verb" outboundtasks.outbound.dev -A
  can yes "$verb" outboundaccounts.outbound.dev -A
done
for verb in get list watch; do
  can yes "$verb" secrets -A
done
can no get outboundtasks.outbound.dev -n team-a
can no get outboundaccounts.outbound.dev -n team-a
can yes patch outboundtasks.outbound.dev -n team-a
can yes patch outboundtasks.outbound.dev --subresource=status -n team-a
can yes patch outboundaccounts.outbound.dev --subresource=status -n team-a
for verb in patch update; do
  can no "$verb" outboundaccounts.outbound.dev -n team-a
  can no "$verb" secrets -n team-a
done
can no update outboundtasks.outbound.dev -n team-a
can no update outboundtasks.outbound.dev --subresource=status -n team-a
can no get outboundtasks.outbound.dev --subresource=status -n team-a
can no update outboundtasks.outbound.dev --subresource=finalizers -n team-a
can no update outboundaccounts.outbound.dev --subresource=finalizers -n team-a
can yes create events.events.k8s.io -n team-a
can no patch events.events.k8s.io -n team-a
can no create events -n team-a
can no patch events -n team-a
for verb in get create update; do
  can yes "$verb" leases.coordination.k8s.io -n outbound-system
  can no "$verb" leases.coordination.k8s.io -n team-a
done
can no patch leases.coordination.k8s.io -n outbound-system
for verb in create delete; do
  can no "$verb" outboundtasks.outbound.dev -n team-a
  can no "$verb" outboundaccounts.outbound.dev -n team-a
  can no "$verb" secrets -n team-a
done
can no delete events -n team-a
can no update pods --subresource=status -n team-a
can no get configmaps -n team-a
can no list pods -A
can no create customresourcedefinitions.apiextensions.k8s.io
[ "$bad" = 0 ] || fail "the operator's RBAC differs from what it needs (above)"
say "RBAC of $sa: ok"

ns=t-manifests-$(tr -dc 'a-z0-9' </dev/urandom | head -c 6 || true)
k create namespace "$ns" >/dev/null
k apply -n "$ns" --validate=strict -f manifests/examples/simulator/ -f manifests/examples/ >/dev/null ||
  fail "kubectl apply -f manifests/examples/simulator/ -f manifests/examples/"
tasks=$(k get otask -n "$ns" --no-headers | wc -l)
[ "$tasks" -ge 5 ] || fail "expected 5 OutboundTasks from the examples, got $tasks"
k get otask -n "$ns" >&2
k get oacct -n "$ns" >&2
k get outbound -n "$ns" --no-headers >/dev/null || fail "category outbound"
# Capture, then grep: with pipefail, `kubectl explain | grep -q` fails when grep exits at the first
# match and kubectl gets SIGPIPE. The CRD's OpenAPI is published shortly after it is Established,
# so allow it a few seconds.
explained=""
for _ in $(seq 30); do
  explained=$(k explain outboundtasks.spec.task.maxConcurrency 2>&1 || true)
  case "$explained" in *maximumcall*) break ;; esac
  sleep 1
done
case "$explained" in
  *maximumcall*) ;;
  *) fail "kubectl explain outboundtasks.spec.task.maxConcurrency does not name the API field maximumcall: $explained" ;;
esac
say "examples applied with kubectl in $ns; kubectl explain shows API field names: ok"

# 4b. A Lease renewal as the operator's ServiceAccount: the API server's response names the FlowSchema
# that classified it (kubectl -v=8 prints the response headers).
schema_uid=$(k get flowschema outbound-operator-leader-election -o jsonpath='{.metadata.uid}') ||
  fail "manifests/ installs no FlowSchema outbound-operator-leader-election"
level=$(k get flowschema outbound-operator-leader-election -o jsonpath='{.spec.priorityLevelConfiguration.name}')
[ "$level" = leader-election ] || fail "the FlowSchema puts Lease requests in '$level', not leader-election"
lease=$(mktemp)
cat >"$lease" <<YAML
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: apf-check, namespace: outbound-system}
spec: {holderIdentity: apf-check, leaseDurationSeconds: 15}
YAML
k delete lease apf-check -n outbound-system --ignore-not-found >/dev/null
k create -f "$lease" --as="$sa" >/dev/null || fail "the operator's ServiceAccount cannot create its Lease"
k get lease apf-check -n outbound-system --as="$sa" -o yaml >"$lease.got" || fail "reading the Lease as $sa"
sed -i 's/holderIdentity: apf-check/holderIdentity: apf-check-renewed/' "$lease.got"
k replace -f "$lease.got" --as="$sa" -v=8 >/dev/null 2>"$lease.log" || fail "renewing the Lease as $sa: $(tail -3 "$lease.log")"
renewal_uid=$(grep -i 'X-Kubernetes-Pf-Flowschema-Uid' "$lease.log" | tail -1 | sed 's/.*: *//' | tr -d '\r ')
[ "$renewal_uid" = "$schema_uid" ] ||
  fail "a Lease renewal by $sa was classified by FlowSchema uid '$renewal_uid', not outbound-operator-leader-election ($schema_uid)"
k delete lease apf-check -n outbound-system >/dev/null
rm -f "$lease" "$lease.got" "$lease.log"
say "a Lease renewal by $sa is classified by FlowSchema outbound-operator-leader-election (leader-election): ok"

# 5. the sharding overlay: the install plus a shard1 Deployment; the API server takes it (dry run),
# each Deployment passes its selector (accepted by the binary) and no --leader-election-id, so
# each derives its own Lease.
sharded=$(mktemp)
"$kubectl" kustomize overlays/sharding >"$sharded" || fail "kubectl kustomize overlays/sharding"
k apply --server-side --dry-run=server --force-conflicts --field-manager=outbound-manifests-test -f "$sharded" >/dev/null ||
  fail "the apiserver rejected overlays/sharding (above)"
cargo build -q --bin outbound-operator
operator=${CARGO_TARGET_DIR:-$root/target}/debug/outbound-operator
python3 - "$sharded" <<'PY' >"$sharded.args" || fail "overlays/sharding's Deployments"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
want = {"outbound-operator": "--watch-label-selector=!sharding.fluxcd.io/key",
        "outbound-operator-shard1": "--watch-label-selector=sharding.fluxcd.io/key=shard1"}
assert sorted(deployments) == sorted(want), sorted(deployments)
selectors = [str(d["spec"]["selector"]) for d in deployments.values()]
assert len(set(selectors)) == 2, f"the shards' pods must be told apart: {selectors}"
for name, flag in want.items():
    args = deployments[name]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--watch-label-selector")] == [flag], (name, args)
    assert not any(a.startswith("--leader-election-id") for a in args), (name, args)
    print("\t".join(args))
PY
while IFS=$'\t' read -r -a args; do
  "$operator" "${args[@]}" --help >/dev/null 2>"$sharded.err" ||
    fail "the operator refuses overlays/sharding's args (${args[*]}): $(cat "$sharded.err")"
done <"$sharded.args"
rm -f "$sharded" "$sharded.args" "$sharded.err"
say "overlays/sharding: two Deployments, each its selector, accepted by the binary: ok"
say "all manifest checks passed"
