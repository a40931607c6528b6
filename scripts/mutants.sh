#!/usr/bin/env bash
# Mutation testing of the functional core (`make mutants`, docs/testing.md#mutation-testing).
# cargo-mutants changes one operator, condition or return value at a time and runs the tests; a
# change no test notices ("missed") is a gap in the tests. Two runs, each with the tests that need
# no cluster and can see its code:
#   core      every file of crates/core, against the crate's own tests
#   platform  the deciding parts of crates/platform (the rate limiter, the error classification
#             and the write fence: ratelimit.rs, classify.rs, error.rs, fence.rs), against the
#             crate's own tests
# Settings shared with a hand-run `cargo mutants` (timeouts, the equivalent mutants left out,
# each with its reason) are in .cargo/mutants.toml.
#
# Writes cargo-mutants' own output to target/mutants/<run>/mutants.out/ and the figures (caught,
# missed, timeouts, unviable, and the missed list) to target/mutants/summary.txt, and prints them.
# Exits non-zero when a baseline failed or a mutant was missed.
#   scripts/mutants.sh                  both runs (on 2 busy cores: hours, see docs/testing.md)
#   scripts/mutants.sh core             one run
#   scripts/mutants.sh core -f crates/core/src/queue.rs     extra cargo-mutants arguments
# The mutants are built in a copy of the tree, into target/mutants/build (kept between runs, so
# only the first run builds the dependencies); the working tree is never modified.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
CARGO_MUTANTS_VERSION=27.1.0
bin=$(scripts/build-cargo-tool.sh cargo-mutants)
out=$root/target/mutants
export CARGO_TARGET_DIR=$out/build CARGO_TERM_COLOR=never

platform_files=(ratelimit classify error fence)
run_args() {
  case $1 in
    core) echo "--package outbound-core" ;;
    platform)
      echo "--package outbound-platform"
      for file in "${platform_files[@]}"; do echo "--file crates/platform/src/$file.rs"; done
      ;;
    *) echo "unknown run $1 (core, platform)" >&2; return 1 ;;
  esac
}

runs=(core platform)
if [ $# -gt 0 ] && [[ $1 != -* ]]; then runs=("$1"); shift; fi
failed=0
for run in "${runs[@]}"; do
  # shellcheck disable=SC2046 # run_args prints whitespace-separated arguments on purpose
  args=($(run_args "$run"))
  echo "==> cargo mutants ($run): output in $out/$run/mutants.out" >&2
  start=$(date +%s)
  # --lib: the crates' tests are unit tests; building only that target halves each mutant's build.
  # --jobs 1: the machines this runs on have 2 cores; cargo itself uses both.
  rc=0
  "$bin" mutants "${args[@]}" --jobs 1 --cargo-arg=--lib --output "$out/$run" --colors never "$@" || rc=$?
  echo "==> cargo mutants ($run): exit $rc after $(( $(date +%s) - start ))s" >&2
  # 0: all caught; 2: some missed; 3: some timed out (the tests noticed: counted as caught).
  case $rc in 0 | 2 | 3) ;; *) failed=1 ;; esac
done

python3 - "$out" "$CARGO_MUTANTS_VERSION" "${runs[@]}" <<'EOF' | tee "$out/summary.txt"
import json, subprocess, sys
out, version, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
print(f"cargo-mutants {version} at {rev}{' (with uncommitted changes)' if dirty else ''}")
print(f"{'run':<10}{'mutants':>8}{'caught':>8}{'timeout':>8}{'missed':>8}{'unviable':>9}  caught of viable")
missed = []
for run in runs:
    try:
        with open(f"{out}/{run}/mutants.out/outcomes.json") as f:
            outcomes = json.load(f)
    except FileNotFoundError:
        print(f"{run:<10} no outcomes (the run did not start)")
        continue
    c, t, m, u = (outcomes[k] for k in ("caught", "timeout", "missed", "unviable"))
    viable = c + t + m
    share = f"{100 * (c + t) / viable:.1f}% ({c + t} of {viable})" if viable else "-"
    print(f"{run:<10}{outcomes['total_mutants']:>8}{c:>8}{t:>8}{m:>8}{u:>9}  {share}")
    if outcomes.get("end_time") is None:
        print(f"{'':<10}(interrupted: figures of the mutants tested so far)")
    for o in outcomes["outcomes"]:
        if o["summary"] == "MissedMutant":
            missed.append(o["scenario"]["Mutant"]["name"])
print("timeouts count as caught: the mutant made a test hang until the time limit.")
print(f"missed ({len(missed)}):" + ("" if missed else " none"))
for line in missed:
    print(f"  {line}")
EOF
missed=$(grep -c '^  ' "$out/summary.txt" || true)
if [ "$failed" != 0 ] || [ "$missed" != 0 ]; then
  echo "make mutants: $missed missed mutant(s)$([ "$failed" != 0 ] && echo ', and a run failed'); see $out/summary.txt" >&2
  exit 1
fi
