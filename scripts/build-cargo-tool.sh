#!/usr/bin/env bash
# Installs a cargo subcommand from crates.io at a pinned version, with its own Cargo.lock
# (`cargo install --locked`), into a cache folder outside the repo, once; later runs reuse it.
# Prints the binary's path on stdout; progress goes to stderr, the full build output to
# <cache>/build-<name>-<version>.log.
#   scripts/build-cargo-tool.sh cargo-mutants 27.1.0
#   CARGO_TOOLS_BIN   cache folder (default ~/.cache/outbound-operator/tools)
set -euo pipefail
name=${1:?usage: build-cargo-tool.sh CRATE VERSION}
version=${2:?usage: build-cargo-tool.sh CRATE VERSION}

cache=${CARGO_TOOLS_BIN:-$HOME/.cache/outbound-operator/tools}
root=$cache/$name-$version
out=$root/bin/$name
if [ ! -x "$out" ]; then
  mkdir -p "$cache"
  log=$cache/build-$name-$version.log
  echo "[$name] installing $name $version from crates.io (minutes on 2 cores; log: $log)" >&2
  start=$(date +%s)
  # A private target dir, removed afterwards: the tool's build never mixes with the project's.
  # CARGO_INCREMENTAL=0 because an installed tool is built once.
  if ! env -u CARGO_TARGET_DIR CARGO_INCREMENTAL=0 \
       cargo install --locked --quiet --version "=$version" --root "$root.tmp" "$name" >"$log" 2>&1; then
    echo "[$name] install FAILED; last 40 lines of $log:" >&2
    tail -n 40 "$log" >&2
    rm -rf "$root.tmp"
    exit 1
  fi
  rm -rf "$root"
  mv "$root.tmp" "$root"
  echo "[$name] installed in $(( $(date +%s) - start ))s: $out" >&2
fi
echo "$out"
