#!/usr/bin/env bash
# Prints the folder of the ServiceMonitor and PrometheusRule CRDs (and the other
# monitoring.coreos.com CRDs) as shipped in the prometheus-operator Go module, fetched once through
# the Go module proxy into the Go module cache. Used by the chart and monitoring tests to install
# those CRDs in the local control plane before applying our ServiceMonitor and PrometheusRule.
set -euo pipefail
version=v0.85.0
module=github.com/prometheus-operator/prometheus-operator
command -v go >/dev/null || { echo "[prometheus-operator-crds] go is required (none on PATH)" >&2; exit 1; }
dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module@$version" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
crds=$dir/example/prometheus-operator-crd
[ -f "$crds/monitoring.coreos.com_servicemonitors.yaml" ] && [ -f "$crds/monitoring.coreos.com_prometheusrules.yaml" ] ||
  { echo "[prometheus-operator-crds] no CRDs in $crds" >&2; exit 1; }
echo "$crds"
