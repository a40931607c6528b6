#!/usr/bin/env bash
# Prints the kubectl the test scripts use: KUBECTL if set, else the one on PATH, else one built
# from tools/envtest (scripts/build-envtest.sh kubectl) for machines without one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${KUBECTL:-}" ]; then
  echo "$KUBECTL"
elif command -v kubectl >/dev/null; then
  command -v kubectl
else
  echo "[kubectl] no kubectl on PATH: building one (scripts/build-envtest.sh kubectl)" >&2
  echo "$("$root/scripts/build-envtest.sh" kubectl)/kubectl"
fi
