#!/usr/bin/env bash
# Builds the operator at UPGRADE_FROM_COMMIT (scripts/upgrade-from.env), the earlier version the
# upgrade test starts from (tests/upgrade.rs), once per commit: the sources of that commit (git
# archive) are built in a temporary folder with a target dir of their own, and only the binary is
# kept, in ~/.cache/outbound-operator/operator/<commit>/ beside the Go-built tools. Prints the
# binary's path on stdout; progress goes to stderr, the build output to <cache>/build.log.
#   UPGRADE_FROM_CACHE   cache folder (default ~/.cache/outbound-operator/operator)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/upgrade-from.env"
commit=$UPGRADE_FROM_COMMIT
say() { printf '[upgrade-from] %s\n' "$*" >&2; }

dir=${UPGRADE_FROM_CACHE:-$HOME/.cache/outbound-operator/operator}/$commit
out=$dir/outbound-operator
if [ ! -x "$out" ]; then
  git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null ||
    { say "commit $commit is not in this clone (a shallow clone? git fetch --unshallow)"; exit 1; }
  mkdir -p "$dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  git -C "$root" archive "$commit" | tar -x -C "$work"
  say "building the operator at ${commit:0:7} (minutes on a cold build; log: $dir/build.log)"
  start=$(date +%s)
  # Its own target dir: the sources differ from this checkout's, and the binary must not replace
  # target/debug/outbound-operator. Removed with the sources once the binary is cached.
  if ! (cd "$work" && env -u CARGO_TARGET_DIR CARGO_INCREMENTAL=0 \
        cargo build --locked --bin outbound-operator --target-dir "$work/target") >"$dir/build.log" 2>&1; then
    say "build FAILED; last 40 lines of $dir/build.log:"
    tail -n 40 "$dir/build.log" >&2
    exit 1
  fi
  cp "$work/target/debug/outbound-operator" "$out.tmp"
  mv "$out.tmp" "$out"
  say "built in $(( $(date +%s) - start ))s: $out"
fi
echo "$out"
