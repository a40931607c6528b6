#!/usr/bin/env bash
# Tests the alerts and the dashboard (run by `make test`):
#  1. the copies in the chart and manifests/monitoring/prometheusrule.yaml are fresh
#     (scripts/sync-monitoring.sh --check);
#  2. `promtool check rules` and `promtool test rules` on manifests/monitoring/alerts.yaml
#     (alerts_test.yaml: every alert fires in one case and stays silent in another);
#  3. every query of the dashboard parses: each panel's expr becomes a recording rule of a
#     throwaway rule file that `promtool check rules` reads;
#  4. `kubectl kustomize manifests/monitoring` (ServiceMonitor, PrometheusRule, dashboard ConfigMap)
#     is accepted by the local API server (server-side dry-run, after installing prometheus-operator's
#     CRDs); its ServiceMonitor selects the metrics Service of manifests/ and its port, and the
#     ServiceMonitor and PrometheusRule carry `release: kube-prometheus-stack`, the label that
#     stack's Prometheus selects them by (review I8).
# That the alerts and the dashboard name only metrics the operator exports is checked against a
# scrape of the running operator by tests/monitoring.rs (cargo test).
# promtool is built from tools/promtool (scripts/build-go-tool.sh promtool, cached). Needs KUBECONFIG.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '[monitoring] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

promtool=$(scripts/build-go-tool.sh promtool)
say "using $("$promtool" --version 2>&1 | head -1)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scripts/sync-monitoring.sh --check || fail "generated monitoring files are stale (above)"
say "chart copies and prometheusrule.yaml are fresh"

"$promtool" check rules manifests/monitoring/alerts.yaml >&2 || fail "promtool check rules alerts.yaml"
(cd manifests/monitoring && "$promtool" test rules alerts_test.yaml) >&2 || fail "promtool test rules alerts_test.yaml"
# Every alert of alerts.yaml has a test case that expects it to fire and one that expects silence.
python3 - manifests/monitoring/alerts.yaml manifests/monitoring/alerts_test.yaml <<'PY' || fail "alerts without a firing and a silent test case"
import re, sys
alerts = set(re.findall(r'^\s+- alert: (\S+)', open(sys.argv[1]).read(), re.M))
tests = open(sys.argv[2]).read()
cases = re.findall(r'alertname: (\S+)\n\s+exp_alerts:( \[\])?', tests)
fires = {name for name, empty in cases if not empty}
silent = {name for name, empty in cases if empty}
missing = sorted(a for a in alerts if a not in fires or a not in silent)
if missing:
    print("missing a firing or a silent case:", missing, file=sys.stderr); sys.exit(1)
print(f"{len(alerts)} alerts, each with a firing and a silent case", file=sys.stderr)
PY

python3 - manifests/monitoring/dashboard.json "$work/dashboard-rules.yaml" <<'PY' || fail "reading the dashboard's queries"
import json, sys
dashboard = json.load(open(sys.argv[1]))
exprs = []
def walk(panels):
    for panel in panels:
        walk(panel.get("panels", []))
        for target in panel.get("targets", []):
            exprs.append((panel["title"], target["expr"]))
walk(dashboard["panels"])
assert exprs, "no queries in the dashboard"
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, expr) in enumerate(exprs):
        out.write(f"      # {title}\n      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
print(f"{len(exprs)} queries in {len({t for t, _ in exprs})} panels", file=sys.stderr)
PY
"$promtool" check rules "$work/dashboard-rules.yaml" >&2 || fail "a dashboard query does not parse (above; the rule file is $work/dashboard-rules.yaml)"
say "every dashboard query parses"

[ -n "${KUBECONFIG:-}" ] || fail "KUBECONFIG is not set: run \`make test\`, or eval \"\$(scripts/envtest.sh up)\" first"
kubectl=$(scripts/kubectl.sh)
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
crds=$(scripts/prometheus-operator-crds.sh)
k apply --server-side --field-manager=outbound-monitoring-test -f "$crds/monitoring.coreos.com_prometheusrules.yaml" \
  -f "$crds/monitoring.coreos.com_servicemonitors.yaml" >/dev/null || fail "installing the PrometheusRule and ServiceMonitor CRDs"
k wait --for=condition=Established --timeout=60s crd/prometheusrules.monitoring.coreos.com \
  crd/servicemonitors.monitoring.coreos.com >/dev/null || fail "prometheus-operator CRDs not Established"
k create namespace outbound-system --dry-run=client -o yaml | k apply --server-side -f - >/dev/null
"$kubectl" kustomize manifests/monitoring >"$work/monitoring.yaml" || fail "kubectl kustomize manifests/monitoring"
"$kubectl" kustomize manifests >"$work/install.yaml" || fail "kubectl kustomize manifests"
k apply --dry-run=client -f "$work/monitoring.yaml" -o json >"$work/monitoring.json"
k apply --dry-run=client -f "$work/install.yaml" -o json >"$work/install.json"
python3 - "$work/monitoring.json" "$work/install.json" <<'PY' || fail "manifests/monitoring does not scrape the operator's Service, or lacks the release label (above)"
import json, sys
def items(path):
    doc = json.load(open(path))
    return doc["items"] if doc.get("kind") == "List" else [doc]
monitoring, install = items(sys.argv[1]), items(sys.argv[2])
one = lambda objs, kind: [i for i in objs if i["kind"] == kind]
monitors = one(monitoring, "ServiceMonitor")
assert len(monitors) == 1, f"want one ServiceMonitor in manifests/monitoring, got {len(monitors)}"
monitor, service = monitors[0], one(install, "Service")[0]
assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"], (monitor["metadata"], service["metadata"])
assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items(), monitor["spec"]
ports = {p["name"] for p in service["spec"]["ports"]}
assert all(e["port"] in ports for e in monitor["spec"]["endpoints"]), (monitor["spec"]["endpoints"], ports)
for kind in ("ServiceMonitor", "PrometheusRule"):
    labels = one(monitoring, kind)[0]["metadata"].get("labels", {})
    assert labels.get("release") == "kube-prometheus-stack", f"{kind} labels: {labels}"
PY
say "manifests/monitoring: a ServiceMonitor for the metrics Service; release: kube-prometheus-stack on it and the PrometheusRule"
k apply --server-side --dry-run=server --field-manager=outbound-monitoring-test -f "$work/monitoring.yaml" >&2 ||
  fail "the API server rejected manifests/monitoring (above)"
say "all monitoring checks passed"
