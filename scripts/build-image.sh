#!/usr/bin/env bash
# make image: the operator's container image as an archive, without a container engine, and its
# SBOM beside it (docs/reference/image.md says what is in it):
#   target/image/outbound-operator-<version>.tar       docker-archive; `docker load`, `podman load`,
#                                                      `kind load image-archive`, `crane push`
#   target/image/outbound-operator-<version>.cdx.json  CycloneDX SBOM of the binary's crates
# One layer on an empty base: the release binary, exactly the shared libraries `ldd` names for it
# (with the dynamic loader), the host's CA bundle and time zones, /etc/passwd and /etc/group with
# the user nonroot (65532), and no shell. The tag and labels come from the binary (`version -o
# json`: the workspace version, the git revision), never from a second copy of the version.
# crane (go-containerregistry, tools/crane) writes the archive; it needs a registry for `mutate`,
# so a private in-memory one (`crane registry serve`) runs on a loopback port while it works.
# Prints the archive's path on stdout; everything else goes to stderr.
#   IMAGE_REPOSITORY   the image's name without tag (default: that of manifests/ and the chart)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '[image] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

repository=${IMAGE_REPOSITORY:-ghcr.io/outbound-operator/outbound-operator}
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/image
crane=$(scripts/build-go-tool.sh crane)
cyclonedx=$(scripts/build-cargo-tool.sh cargo-cyclonedx)

say "cargo build --release (fat LTO: minutes after a change)"
cargo build --release --locked --bin outbound-operator >&2
binary=$target/release/outbound-operator
info=$("$binary" version -o json)
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$info"; }
version=$(field version) revision=$(field gitRevision) profile=$(field buildProfile)
[ "$profile" = release ] || fail "the binary reports build profile '$profile', not release"
tag=$repository:$version
archive=$out/outbound-operator-$version.tar
sbom=$out/outbound-operator-$version.cdx.json
# The commit's time, not the clock's: the same commit builds the same layer.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

rootfs=$out/rootfs
rm -rf "$rootfs" "$out/layer.tar"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/usr/share" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
strip -o "$rootfs/usr/local/bin/outbound-operator" "$binary"

# The shared libraries and the loader, at the paths ldd resolves them to (linux-vdso has none).
libraries=$(ldd "$binary") || fail "ldd $binary failed"
if grep -q "not found" <<<"$libraries"; then fail "unresolved libraries: $libraries"; fi
for lib in $(grep -o '/[^ ]*' <<<"$libraries"); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

[ -f /etc/ssl/certs/ca-certificates.crt ] || fail "no CA bundle at /etc/ssl/certs/ca-certificates.crt (Debian: apt-get install ca-certificates)"
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
# OutboundAccount.spec.timeZone names IANA zones, read from here.
[ -f /usr/share/zoneinfo/Asia/Shanghai ] || fail "no time zones at /usr/share/zoneinfo (Debian: apt-get install tzdata)"
cp -rL /usr/share/zoneinfo "$rootfs/usr/share/"
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
for file in "$rootfs"/etc/passwd "$rootfs"/etc/group "$rootfs"/etc/nsswitch.conf; do chmod 0644 "$file"; done

# Sorted names, one time, root:root: the same inputs make the same layer digest.
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$rootfs" -cf "$out/layer.tar" .

say "assembling $tag with $("$crane" version 2>/dev/null)"
registry_log=$out/registry.log
"$crane" registry serve --address 127.0.0.1:0 >"$registry_log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$registry_log")
  [ -n "$port" ] && break
  kill -0 "$registry_pid" 2>/dev/null || fail "crane registry serve stopped: $(cat "$registry_log")"
  sleep 0.1
done
[ -n "$port" ] || fail "crane registry serve did not start: $(cat "$registry_log")"
staging=127.0.0.1:$port/outbound-operator:$version
case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) fail "unknown machine $(uname -m)" ;;
esac
"$crane" append --new_layer "$out/layer.tar" --new_tag "$staging" >/dev/null 2>"$out/crane.log" ||
  fail "crane append: $(cat "$out/crane.log")"
rm -f "$archive"
"$crane" mutate "$staging" --tag "$tag" --output "$archive" \
  --set-platform "linux/$arch" \
  --entrypoint /usr/local/bin/outbound-operator \
  --cmd run,--leader-elect,--log-format,json \
  --user 65532:65532 \
  --workdir / \
  --exposed-ports 8080/tcp \
  --env PATH=/usr/local/bin \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.title=outbound-operator \
  --label org.opencontainers.image.source=https://github.com/outbound-operator/outbound-operator \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.licenses=$(cargo metadata --no-deps --format-version 1 --locked |
    python3 -c 'import json,sys; print(next(p["license"] for p in json.load(sys.stdin)["packages"] if p["name"] == "outbound-operator"))')" \
  --label "org.opencontainers.image.created=$(date -u -d "@$epoch" +%FT%TZ)" \
  >/dev/null 2>"$out/crane.log" || fail "crane mutate: $(cat "$out/crane.log")"
"$crane" validate --tarball "$archive" >&2 || fail "crane validate --tarball $archive"
rm -f "$out/layer.tar" "$out/crane.log"

# The SBOM of the operator's crates as built for this platform (no dev- or build-dependencies).
# cargo-cyclonedx writes one file per binary of the workspace beside its Cargo.toml.
say "SBOM with $("$cyclonedx" cyclonedx --version 2>/dev/null)"
members=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,os,sys; print("\n".join(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"]))')
SOURCE_DATE_EPOCH=$epoch "$cyclonedx" cyclonedx --manifest-path "$root/Cargo.toml" --format json --spec-version 1.5 \
  --target "$(rustc -vV | sed -n 's/^host: //p')" --no-build-deps --describe binaries -q >&2 || fail "cargo cyclonedx"
[ -f "$root/outbound-operator_bin.cdx.json" ] || fail "cargo cyclonedx wrote no outbound-operator_bin.cdx.json"
mv "$root/outbound-operator_bin.cdx.json" "$sbom"
while read -r member; do rm -f "$member"/*_bin.cdx.json; done <<<"$members"

say "$archive ($(du -h "$archive" | cut -f1)), $sbom"
echo "$archive"
