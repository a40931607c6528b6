#!/usr/bin/env bash
# Builds the command named by the `tool` directive of tools/<name>/go.mod (a Go module that pins
# the tool's version, resolved through the Go module proxy), or the module's own main package,
# into a cache folder outside the repo, and reuses it while go.mod, go.sum, its Go files and the
# build settings are unchanged. Prints the binary's path on stdout; progress goes to stderr, the
# full build output to <cache>/build-<name>.log.
#   scripts/build-go-tool.sh helm       helm (tools/helm)
#   scripts/build-go-tool.sh promtool   promtool (tools/promtool)
#   scripts/build-go-tool.sh kstatus    tools/kstatus (scripts/build-kstatus.sh)
# tools/<name>/build.env may set TAGS (go build -tags) and LDFLAGS.
#   GO_TOOLS_BIN   cache folder (default ~/.cache/outbound-operator/tools)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: build-go-tool.sh NAME (a folder of tools/)}
dir=$root/tools/$name
[ -f "$dir/go.mod" ] || { echo "[$name] no $dir/go.mod" >&2; exit 1; }
# The `tool` directive names the command; without one, the module itself is the command.
package=$(awk '$1 == "tool" { print $2; exit }' "$dir/go.mod")
package=${package:-.}
TAGS="" LDFLAGS=""
if [ -f "$dir/build.env" ]; then source "$dir/build.env"; fi

bin=${GO_TOOLS_BIN:-$HOME/.cache/outbound-operator/tools}
mkdir -p "$bin"
inputs=("$dir/go.mod" "$dir/go.sum")
for file in "$dir"/*.go "$dir/build.env"; do [ -f "$file" ] && inputs+=("$file"); done
stamp=$(cat "${inputs[@]}" | sha256sum | cut -c1-12)
out=$bin/$name-$stamp
if [ ! -x "$out" ]; then
  command -v go >/dev/null || { echo "[$name] go is required to build $package (none on PATH)" >&2; exit 1; }
  echo "[$name] building $package (minutes on a cold Go cache; log: $bin/build-$name.log)" >&2
  start=$(date +%s)
  rm -f "$out.tmp"
  if ! (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod \
        go build -trimpath -tags "$TAGS" -ldflags "-s -w $LDFLAGS" -o "$out.tmp" "$package") \
        >"$bin/build-$name.log" 2>&1; then
    echo "[$name] build FAILED; last 40 lines of $bin/build-$name.log:" >&2
    tail -n 40 "$bin/build-$name.log" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
  echo "[$name] built in $(( $(date +%s) - start ))s: $out" >&2
fi
echo "$out"
