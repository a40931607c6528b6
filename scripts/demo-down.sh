#!/usr/bin/env bash
# Stops what `make demo` started: the operator, the simulator and (unless --keep-plane) the local
# control plane.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${ENVTEST_DIR:-$root/.envtest}/demo
for name in operator sim; do
  if [ -f "$state/$name.pid" ]; then
    pid=$(cat "$state/$name.pid")
    kill "$pid" 2>/dev/null && echo "stopped $name ($pid)"
    rm -f "$state/$name.pid"
  fi
done
if [ "${1:-}" != "--keep-plane" ]; then
  "$root/scripts/envtest.sh" down
fi
