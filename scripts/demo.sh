#!/usr/bin/env bash
# make demo: local control plane + platform simulator + operator + the examples, shown as a user
# sees them. Leaves everything running until Ctrl-C (or `make demo-down` from another shell).
#   DEMO_DETACH=1   return once the demo has been shown, leaving it running (used by tests/CI)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=${ENVTEST_DIR:-$root/.envtest}/demo
mkdir -p "$state"
sim_port=${DEMO_SIM_PORT:-18080}
metrics_port=${DEMO_METRICS_PORT:-18081}
token=demo-token  # the simulator's demo token; manifests/examples/simulator/secret.yaml holds the same
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Building the operator and the simulator (first build takes a few minutes)"
cargo build --workspace --bins
bin=${CARGO_TARGET_DIR:-target}/debug  # where that build put them

step "Starting the local control plane (kube-apiserver + etcd; built on first use)"
eval "$(scripts/envtest.sh up)"
export KUBECONFIG
kubectl=(kubectl --kubeconfig "$KUBECONFIG")

"$root/scripts/demo-down.sh" --keep-plane >/dev/null 2>&1 || true

step "Starting the platform simulator on 127.0.0.1:$sim_port (fixtures: scripts/demo/fixtures.yaml)"
"$bin/outbound-sim" --listen "127.0.0.1:$sim_port" --token "$token" \
  --fixtures scripts/demo/fixtures.yaml >"$state/sim.log" 2>&1 &
echo $! >"$state/sim.pid"
for _ in $(seq 100); do grep -q "listening on" "$state/sim.log" && break; sleep 0.1; done
grep -q "listening on" "$state/sim.log" || { cat "$state/sim.log"; exit 1; }
sim="http://127.0.0.1:$sim_port"

step "Installing the CRDs and the examples (manifests/examples/, and the simulator's Secret and account in manifests/examples/simulator/)"
"${kubectl[@]}" apply --server-side -f crds/outbound.dev_crds.yaml
"${kubectl[@]}" wait --for=condition=Established crd/outboundtasks.outbound.dev crd/outboundaccounts.outbound.dev --timeout=60s
"${kubectl[@]}" apply -f manifests/examples/simulator/ -f manifests/examples/

step "Starting the operator (logs: $state/operator.log, metrics: http://127.0.0.1:$metrics_port/metrics)"
"$bin/outbound-operator" run --metrics-addr "127.0.0.1:$metrics_port" >"$state/operator.log" 2>&1 &
echo $! >"$state/operator.pid"

step "Waiting until every OutboundTask is Ready"
if ! "${kubectl[@]}" wait --for=condition=Ready otask --all --timeout=120s; then
  "${kubectl[@]}" get otask -o wide; tail -20 "$state/operator.log"; exit 1
fi
"${kubectl[@]}" get otask

journal() { scripts/demo/journal.py "$sim" "$1"; }  # the simulator's journal of calls for task $1
spring=f232d184-dd54-42a0-8ace-0bf8d660f4cc
step "What the operator did to spring-campaign (a running task whose settings differed): the simulator's journal"
journal "$spring"

step "Editing spring-campaign in Git terms: maxConcurrency 2 -> 4 (kubectl patch)"
curl -sf -X DELETE "$sim/_sim/journal" >/dev/null
"${kubectl[@]}" patch otask spring-campaign --type merge -p '{"spec":{"task":{"maxConcurrency":4,"lines":[{"id":"d47c3599-f166-4cd0-999c-f60e46814d26","limit":4}]}}}'
"${kubectl[@]}" wait --for=jsonpath='{.status.observedGeneration}'=2 otask/spring-campaign --timeout=60s
"${kubectl[@]}" wait --for=condition=Ready otask/spring-campaign --timeout=60s
journal "$spring"

step "Someone edits the task in the platform's console (maximumcall back to 1): drift"
curl -sf -X DELETE "$sim/_sim/journal" >/dev/null
curl -sf -X PATCH "$sim/_sim/tasks/$spring/config" -H 'content-type: application/json' -d '{"maximumcall": 1}' >/dev/null
echo "  asking for a reconcile now instead of waiting for the 5m resync (Flux's annotation):"
"${kubectl[@]}" annotate otask spring-campaign --overwrite "reconcile.fluxcd.io/requestedAt=$(date -u +%FT%TZ)"
for _ in $(seq 100); do
  [ "$(curl -sf "$sim/_sim/tasks/$spring" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["maximumcall"])')" = 4 ] && break
  sleep 0.2
done
"${kubectl[@]}" wait --for=condition=Ready otask/spring-campaign --timeout=60s
journal "$spring"
"${kubectl[@]}" get otask
echo
"${kubectl[@]}" get events --field-selector involvedObject.name=spring-campaign --sort-by=.lastTimestamp | tail -8

autumn=f232d184-dd54-42a0-8ace-0bf8d660f4f7
step "A campaign nobody has put in Git yet: kubectl outbound import writes its manifest, exactly as it runs"
echo "  (the kubectl plugin, $bin/kubectl-outbound: on your PATH it runs as \`kubectl outbound\`)"
"$bin/kubectl-outbound" import --account main --name-filter autumn-campaign | tee "$state/autumn.yaml"
step "Applying it: the operator adopts the campaign with reads only"
curl -sf -X DELETE "$sim/_sim/journal" >/dev/null
"${kubectl[@]}" apply --server-side -f "$state/autumn.yaml"
"${kubectl[@]}" wait --for=condition=Ready otask/autumn-campaign --timeout=60s
journal "$autumn"

step "kubectl outbound status: every campaign, and the account's budget"
"$bin/kubectl-outbound" status

cat <<MSG

The demo is running:
  export KUBECONFIG=$KUBECONFIG
  kubectl get otask                       # the tasks; try: kubectl edit otask spring-campaign
  $bin/kubectl-outbound status      # the plugin: status, import, reconcile --wait, suspend/resume, plan
  curl $sim/_sim/journal                  # every call the operator made to the platform
  curl http://127.0.0.1:$metrics_port/metrics
  logs: $state/operator.log, $state/sim.log
Stop it with Ctrl-C here, or \`make demo-down\`.
MSG
if [ "${DEMO_DETACH:-0}" = 1 ]; then exit 0; fi
trap '"$root/scripts/demo-down.sh"; exit 0' INT TERM
while kill -0 "$(cat "$state/operator.pid")" 2>/dev/null; do sleep 1; done
echo "the operator stopped; see $state/operator.log"
