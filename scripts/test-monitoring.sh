#!/usr/bin/env bash
# Tests the alerts and the dashboard (run by `make test`):
#  1. the copies in the chart and manifests/monitoring/prometheusrule.yaml are fresh
#     (scripts/sync-monitoring.sh --check);
#  2. `promtool check rules` and `promtool test rules` on manifests/monitoring/alerts.yaml
#     (alerts_test.yaml: every alert fires in one case and stays silent in another);
#  3. every query of the dashboard parses: each panel's expr becomes a recording rule of a
#     throwaway rule file that `promtool check rules` reads;
#     the dashboard has cluster, namespace and job variables used by every selector, and queue
#     panels;
#  3b. every PromQL query docs/ and README.md quote is one of tests/fixtures/monitoring/doc_queries.yaml,
#     unit-tested there (doc_queries_test.yaml: after a failover, with shards); each parses;
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
# The dashboard tells installs apart and shows the queue (review I15): cluster, namespace and job
# variables, used by every selector of every query; panels on outbound_queue_waiting and
# outbound_queue_wait_seconds.
python3 - manifests/monitoring/dashboard.json <<'PY' || fail "the dashboard's variables, scoping or queue panels (above)"
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
variables = {v["name"] for v in dashboard["templating"]["list"]}
assert {"datasource", "cluster", "namespace", "job"} <= variables, variables
exprs = []
def walk(panels):
    for panel in panels:
        walk(panel.get("panels", []))
        exprs.extend((panel["title"], t["expr"]) for t in panel.get("targets", []))
walk(dashboard["panels"])
unscoped = []
for title, expr in exprs:
    for m in re.finditer(r'\b(outbound_[a-z_]+)(\{[^}]*\})?', expr):
        matchers = m.group(2) or ""
        if not all(f'{l}=~"${l}"' in matchers for l in ("cluster", "namespace", "job")):
            unscoped.append(f"{title}: {m.group(0)}")
assert not unscoped, "selectors without the cluster/namespace/job variables:\n  " + "\n  ".join(unscoped)
names = " ".join(e for _, e in exprs)
for metric in ("outbound_queue_waiting", "outbound_queue_wait_seconds_bucket", "outbound_tasks_not_synced"):
    assert metric in names, f"no panel on {metric}"
print(f"{len(variables)} variables; all {len(exprs)} queries scoped by cluster, namespace and job", file=sys.stderr)
PY

# The PromQL that docs/ and README.md quote: every query (an inline code span naming an
# `outbound_` metric, with a function or operator) is one of tests/fixtures/monitoring/doc_queries.yaml,
# whose unit tests show it right after a failover and with shards (review I8); every quoted
# query and selector parses.
python3 - "$work/doc-spans.yaml" <<'PY' || fail "a query quoted in the docs is not in tests/fixtures/monitoring/doc_queries.yaml (above)"
import glob, re, sys
files = ["README.md"] + sorted(f for f in glob.glob("docs/**/*.md", recursive=True) if f != "docs/reference/api.md")
known = set()
for m in re.finditer(r'^\s+expr: (.+)$', open("tests/fixtures/monitoring/doc_queries.yaml").read(), re.M):
    known.add(" ".join(m.group(1).split()))
spans, missing = [], []
for path in files:
    text = open(path).read()
    for m in re.finditer(r'`([^`\n]*(?:\n[^`\n]*)?)`', text):
        span = " ".join(m.group(1).split())
        if not re.search(r'\boutbound_[a-z_]+', span) or not re.search(r'[({]', span):
            continue
        spans.append((path, span))
        if "(" in span and span not in known:
            missing.append(f"{path}: {span}")
if missing:
    print("quoted in the docs but not in doc_queries.yaml:\n  " + "\n  ".join(missing), file=sys.stderr); sys.exit(1)
with open(sys.argv[1], "w") as out:
    out.write("groups:\n  - name: docs\n    rules:\n")
    for i, (path, span) in enumerate(spans):
        quoted = span.replace("'", "''")
        out.write(f"      # {path}\n      - record: docs:span_{i}\n        expr: '{quoted}'\n")
print(f"{len(spans)} PromQL spans in the docs, {sum('(' in s for _, s in spans)} of them queries", file=sys.stderr)
PY
"$promtool" check rules "$work/doc-spans.yaml" >&2 || fail "a query or selector quoted in the docs does not parse (above)"
"$promtool" check rules tests/fixtures/monitoring/doc_queries.yaml >&2 || fail "promtool check rules doc_queries.yaml"
(cd tests/fixtures/monitoring && "$promtool" test rules doc_queries_test.yaml) >&2 || fail "promtool test rules doc_queries_test.yaml"
say "every PromQL the docs quote parses, and each query is unit-tested in doc_queries_test.yaml"

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
