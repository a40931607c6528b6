#!/usr/bin/env bash
# Writes the copies of the single sources that the Helm chart and kustomize need (`make
# monitoring`; `make crds` also runs it):
#   manifests/monitoring/alerts.yaml    -> manifests/monitoring/prometheusrule.yaml (PrometheusRule)
#                                       -> charts/outbound-operator/files/alerts.yaml
#   manifests/monitoring/dashboard.json -> charts/outbound-operator/files/dashboard.json
#   crds/outbound.dev_crds.yaml         -> charts/outbound-operator/files/crds.yaml (templates/crds.yaml)
# With --check, writes nothing and fails if any copy differs from what it would write (run by
# scripts/test-monitoring.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=${1:-}
src=manifests/monitoring
chart=charts/outbound-operator
generated="# Generated from manifests/monitoring/%s by \`make monitoring\` (scripts/sync-monitoring.sh): edit that file, not this one."

prometheusrule() {
  printf "$generated\n" alerts.yaml
  cat <<'YAML'
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: outbound-operator
  namespace: outbound-system
  labels:
    app.kubernetes.io/name: outbound-operator
    app.kubernetes.io/part-of: outbound-operator
    # What kube-prometheus-stack's Prometheus selects PrometheusRules by (its release name).
    release: kube-prometheus-stack
spec:
YAML
  sed -e 's/^\(.\)/  \1/' "$src/alerts.yaml"
}
chart_alerts() {
  printf "$generated\n" alerts.yaml
  cat "$src/alerts.yaml"
}

stale=0
# put TARGET: stdin is what TARGET must hold.
put() {
  local target=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ "$check" = --check ]; then
    if ! cmp -s "$tmp" "$target"; then
      echo "[sync-monitoring] $target is stale: run \`make monitoring\` and commit the result" >&2
      diff -u "$target" "$tmp" | head -20 >&2 || true
      stale=1
    fi
    rm -f "$tmp"
  else
    mkdir -p "$(dirname "$target")"
    mv "$tmp" "$target"
    chmod 644 "$target"
  fi
}

prometheusrule | put "$src/prometheusrule.yaml"
chart_alerts | put "$chart/files/alerts.yaml"
put "$chart/files/dashboard.json" <"$src/dashboard.json"
put "$chart/files/crds.yaml" <crds/outbound.dev_crds.yaml
exit "$stale"
