#!/usr/bin/env bash
# The release version, kept equal everywhere it is written (`make version VERSION=x.y.z`):
#   Cargo.toml            [workspace.package] version, which every crate inherits, and Cargo.lock
#   charts/outbound-operator/Chart.yaml   version and appVersion (the image tag: values.yaml's
#                         image.tag stays empty, so the chart pulls <repository>:<appVersion>)
#   every tracked file naming the image ghcr.io/outbound-operator/outbound-operator:<tag>
#                         (manifests/deployment.yaml, the README's quick start, the Dockerfile)
#   CHANGELOG.md          has a section `## [<version>]`
#
#   scripts/version.sh set X.Y.Z   write X.Y.Z into each of them (and an empty CHANGELOG section)
#   scripts/version.sh check       exit 1, naming each file that differs from the workspace version
#   scripts/version.sh get         print the workspace version
# VERSION_ROOT: the checkout to act on (default: this one; tests/version.rs uses a copy).
set -euo pipefail
root=${VERSION_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
image=ghcr.io/outbound-operator/outbound-operator
chart=charts/outbound-operator/Chart.yaml
values=charts/outbound-operator/values.yaml
say() { printf '[version] %s\n' "$*" >&2; }

# The workspace members' versions, one line each: "<name> <version>". --locked: a Cargo.lock that
# does not match the manifests fails here.
member_versions() {
  cargo metadata --format-version 1 --locked --offline --manifest-path "$root/Cargo.toml" |
    python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for package in meta["packages"]:
    if package["id"] in members:
        print(package["name"], package["version"])'
}
workspace_version() {
  sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml
}
chart_field() { sed -n "s/^$1: \"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$chart"; }
# Tracked files naming the image with a tag: "<file>:<line>:<tag>".
image_references() {
  git ls-files -z | xargs -0 grep -HnoE "$image:[A-Za-z0-9._-]+" 2>/dev/null | sed "s|$image:||" || true
}

check() {
  local want bad=0 name version file tag tag_value
  want=$(workspace_version)
  [ -n "$want" ] || { say "no version in Cargo.toml's [workspace.package]"; exit 1; }
  err=$(mktemp)
  if ! versions=$(member_versions 2>"$err"); then
    say "cargo metadata --locked failed (Cargo.lock stale? run \`make version VERSION=$want\`): $(cat "$err")"
    rm -f "$err"
    exit 1
  fi
  rm -f "$err"
  while read -r name version; do
    [ "$version" = "$want" ] || { say "crate $name is at $version, the workspace at $want"; bad=1; }
  done <<<"$versions"
  for field in version appVersion; do
    [ "$(chart_field "$field")" = "$want" ] || { say "$chart: $field is '$(chart_field "$field")', want $want"; bad=1; }
  done
  tag_value=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["image"].get("tag") or "")' "$values")
  [ -z "$tag_value" ] || [ "$tag_value" = "$want" ] ||
    { say "$values: image.tag is '$tag_value', want empty (appVersion) or $want"; bad=1; }
  while IFS=: read -r file line tag; do
    [ -n "$file" ] || continue
    [ "$tag" = "$want" ] || { say "$file:$line names $image:$tag, want $want"; bad=1; }
  done <<<"$(image_references)"
  grep -q "^## \[$want\]" CHANGELOG.md || { say "CHANGELOG.md has no section '## [$want]'"; bad=1; }
  [ "$bad" = 0 ] || exit 1
  say "version $want: $(wc -l <<<"$versions") crates, Cargo.lock, Chart.yaml version and appVersion, image references, CHANGELOG.md"
}

set_version() {
  local new=$1 file
  # Semantic Versioning 2.0.0 (what Helm requires of a chart version).
  [[ $new =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
    { say "VERSION=$new is not a semantic version (x.y.z, optionally -pre or +build)"; exit 1; }
  sed -i "/^\[workspace.package\]/,/^\[/s/^version = \".*\"$/version = \"$new\"/" Cargo.toml
  # Rewrites only the workspace members' entries in Cargo.lock (no dependency changes).
  cargo update --workspace --offline --manifest-path "$root/Cargo.toml" >&2
  sed -i -e "s/^version: .*/version: $new/" -e "s/^appVersion: .*/appVersion: \"$new\"/" "$chart"
  while IFS=: read -r file _ _; do
    [ -n "$file" ] && sed -i -E "s|$image:[A-Za-z0-9._-]+|$image:$new|g" "$file"
  done <<<"$(image_references | sort -u -t: -k1,1)"
  # A section for the new version above the latest one, for the release notes (docs/how-to/release.md).
  if ! grep -q "^## \[$new\]" CHANGELOG.md; then
    sed -i "0,/^## \[/s//## [$new] - Unreleased\n\n## [/" CHANGELOG.md
    say "CHANGELOG.md: added '## [$new] - Unreleased': write its notes"
  fi
  check
}

case ${1:-} in
  check) check ;;
  get) workspace_version ;;
  set) set_version "${2:?usage: scripts/version.sh set X.Y.Z}" ;;
  *) echo "usage: scripts/version.sh check | get | set X.Y.Z" >&2; exit 2 ;;
esac
