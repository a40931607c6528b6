#!/usr/bin/env bash
# `make bench`: the scale benchmark (benches/scale/main.rs) against a control plane of its own.
#
#   scripts/bench.sh                                  # N = 100 and 1,000, --concurrency 64
#   BENCH_TASKS=100,1000,10000 scripts/bench.sh       # or: make bench BENCH_TASKS=100,1000,10000
#   scripts/bench.sh --tasks 1000 --concurrency 64,8  # flags go to the bench (see benches/scale/main.rs)
#
# It builds the binaries in release mode, starts kube-apiserver + etcd with their state in
# target/bench/envtest (apart from the plane of `make test`, so the bench starts from an empty
# etcd), builds and runs the `scale` bench (`cargo bench --bench scale`), and on exit, failure,
# Ctrl-C or TERM stops the bench, every operator it started and the plane (only if it started it).
# Results: target/bench/results.json, a table on stdout, operator logs in target/bench/logs/.
#
#   BENCH_TASKS        task counts (default 100,1000)
#   BENCH_CONCURRENCY  operator --concurrency values, each a separate run (default 64)
#   BENCH_BUDGET_TASKS tasks of the rate-budget run (default 100; 0 skips it)
#   BENCH_BUDGET_BURST account bursts of the rate-budget run (default 20,1)
#   BENCH_CHAOS_TASKS  tasks of the chaos run (default 1000; 0 skips it; --chaos-only runs only it)
#   BENCH_MEMORY_TASKS tasks of the memory run (default 10000; 0 skips it; --memory-only runs only it)
#   BENCH_OPERATOR_LOG RUST_LOG of the operator (default info)
#   BENCH_ENVTEST_DIR  state dir of the plane (default target/bench/envtest)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export ENVTEST_DIR=${BENCH_ENVTEST_DIR:-$root/target/bench/envtest}
pids=$root/target/bench/pids
mkdir -p "$pids" "$ENVTEST_DIR"

say() { printf '[bench] %s\n' "$*" >&2; }

started_plane=0
bench_pid=
cleanup() {
  local f pid i
  # The bench first: on SIGTERM it stops its operator and exits.
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    say "stopping the bench (pid $bench_pid)"
    kill -TERM "$bench_pid" 2>/dev/null || true
    for i in $(seq 100); do
      kill -0 "$bench_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$bench_pid" 2>/dev/null || true
  fi
  # Operators the bench started and could not stop itself (it was killed): only pids whose
  # command line is our operator binary.
  for f in "$pids"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(<"$f")
    if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'outbound-operator run'; then
      say "stopping operator pid $pid left by the bench"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  if [ "$started_plane" = 1 ]; then
    scripts/envtest.sh down || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building the binaries (release)"
cargo build --release --workspace --bins

if scripts/envtest.sh status >/dev/null 2>&1; then
  say "reusing the bench plane already running in $ENVTEST_DIR (not stopped at the end)"
else
  started_plane=1
fi
env_line=$(scripts/envtest.sh up)
eval "$env_line"
export KUBECONFIG
BENCH_APISERVER_PID=$(<"$ENVTEST_DIR/kube-apiserver.pid")
BENCH_ETCD_PID=$(<"$ENVTEST_DIR/etcd.pid")
export BENCH_APISERVER_PID BENCH_ETCD_PID
export BENCH_COMMAND="BENCH_TASKS=${BENCH_TASKS:-100,1000} BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-64} scripts/bench.sh${*:+ $*}"

# The bench binary is run directly rather than through `cargo bench`, so that its pid is known and
# a TERM reaches it (cargo does not forward signals to a bench it runs).
exe=$(cargo bench --bench scale --no-run --message-format=json |
  grep '"kind":\["bench"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$exe" ] || { say "error: could not find the scale bench executable"; exit 1; }
say "running: $exe --bench $*"
"$exe" --bench "$@" &
bench_pid=$!
wait "$bench_pid"
