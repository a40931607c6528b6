#!/usr/bin/env bash
# Installs a cargo subcommand pinned by tools/<name>/version (a crates.io version; `cargo install
# --locked` builds it with the Cargo.lock it was published with) into a cache folder outside the
# repo, and reuses it while the version is unchanged. Prints the binary's path on stdout; progress
# goes to stderr, the full build output to <cache>/build-<name>.log.
#   scripts/build-cargo-tool.sh cargo-cyclonedx   the SBOM generator of `make image`
#   scripts/build-cargo-tool.sh cargo-mutants     `make mutants` (docs/testing.md)
#   CARGO_TOOLS_BIN   cache folder (default ~/.cache/outbound-operator/tools)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: build-cargo-tool.sh NAME (a folder of tools/ with a version file)}
version_file=$root/tools/$name/version
[ -f "$version_file" ] || { echo "[$name] no $version_file" >&2; exit 1; }
version=$(tr -d '[:space:]' <"$version_file")

cache=${CARGO_TOOLS_BIN:-$HOME/.cache/outbound-operator/tools}
out=$cache/$name-$version
if [ ! -x "$out/bin/$name" ]; then
  mkdir -p "$cache"
  echo "[$name] installing $name $version from crates.io (minutes, once; log: $cache/build-$name.log)" >&2
  start=$(date +%s)
  rm -rf "$out.tmp"
  # Its own target dir, so that the project's build cache is neither used nor grown.
  # CARGO_INCREMENTAL=0: an installed tool is built once.
  if ! CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$out.tmp/target" cargo install --locked --quiet --root "$out.tmp" \
        "$name@$version" >"$cache/build-$name.log" 2>&1; then
    echo "[$name] install FAILED; last 40 lines of $cache/build-$name.log:" >&2
    tail -n 40 "$cache/build-$name.log" >&2
    rm -rf "$out.tmp"
    exit 1
  fi
  rm -rf "$out.tmp/target"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  echo "[$name] installed in $(( $(date +%s) - start ))s: $out/bin/$name" >&2
fi
echo "$out/bin/$name"
