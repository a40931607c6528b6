#!/usr/bin/env bash
# Tests the image `make image` builds (run by `make test` as test-image; needs root and KUBECONFIG):
#  1. the archive is well-formed (`crane validate`), one image tagged <repository>:<version>, the
#     version and git revision of the binary in it, built with the release profile;
#  2. its config would not run as root: User names a non-root uid that the image's /etc/passwd
#     holds (an empty User, 0 or root fails here); the entrypoint is the operator; the exposed
#     port is that of `run --metrics-addr`'s default; the OCI labels name the version, the
#     revision, the license and the source; the Dockerfile's operator stage describes the same
#     user, port, entrypoint and command;
#  3. its layers, unpacked into a root filesystem (`crane export`), hold no shell;
#  4. the entrypoint runs under chroot in that root filesystem, as the image's User, with the
#     image's Env and /proc mounted as a container runtime does, and nothing else of the host (no
#     host libraries): against the local control plane and the platform simulator, the operator
#     takes its Lease and every example task becomes Ready.
# The image is built first (scripts/build-image.sh): a build that fails fails this suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '[image] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[ -n "${KUBECONFIG:-}" ] || fail "KUBECONFIG is not set: run \`make test\`, or eval \"\$(scripts/envtest.sh up)\" first"
[ "$(id -u)" = 0 ] || fail "chroot and mount need root (CI runs as root)"
kubectl=$(scripts/kubectl.sh)
chroot=$(command -v chroot)  # by path: `env -i` leaves the image's PATH only
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
crane=$(scripts/build-go-tool.sh crane)
archive=$(scripts/build-image.sh)
cargo build -q --bin outbound-sim
sim_bin=${CARGO_TARGET_DIR:-$root/target}/debug/outbound-sim

work=$(mktemp -d)
rootfs=$work/rootfs
cleanup() {
  [ -n "${operator_pid:-}" ] && kill "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null
  if mountpoint -q "$rootfs/proc"; then umount "$rootfs/proc" || say "could not unmount $rootfs/proc"; fi
  rm -rf --one-file-system "$work"  # never into a /proc still mounted
}
trap cleanup EXIT

# 1, 2. The archive and its config, checked against the binary and the sources.
"$crane" validate --tarball "$archive" >/dev/null || fail "crane validate --tarball $archive"
tar -xOf "$archive" manifest.json >"$work/manifest.json"
config_file=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert len(m) == 1, m; print(m[0]["Config"])' "$work/manifest.json")
tar -xOf "$archive" "$config_file" >"$work/config.json"
mkdir -p "$rootfs"
"$crane" export - - <"$archive" | tar -xf - -C "$rootfs" || fail "crane export of $archive"
# The flags of the binary in the image (as root, in the image's root filesystem: only to read them).
run_help=$(env -i "$chroot" "$rootfs" /usr/local/bin/outbound-operator run --help) ||
  fail "the image's /usr/local/bin/outbound-operator does not run in its root filesystem"
metrics_port=$(sed -n 's/.*\[default: [0-9.]*:\([0-9]*\)\].*/\1/p' <<<"$(grep -A3 -- '--metrics-addr' <<<"$run_help")" | head -1)
[ -n "$metrics_port" ] || fail "no default --metrics-addr port in \`run --help\`"
license=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,sys; print(next(p["license"] for p in json.load(sys.stdin)["packages"] if p["name"] == "outbound-operator"))')
# The userspec to run as ("uid:gid"), printed once the config passed every check.
userspec=$(python3 - "$work/manifest.json" "$work/config.json" "$rootfs" "$metrics_port" "$license" "$(git rev-parse HEAD)" <<'PY'
import json, sys
manifest, config, rootfs, port, license, head = sys.argv[1:]
repo_tags = json.load(open(manifest))[0]["RepoTags"]
cfg = json.load(open(config))
c = cfg["config"]
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)

passwd = {}
for line in open(f"{rootfs}/etc/passwd"):
    name, _, uid, gid, *_ = line.strip().split(":")
    passwd[name] = (int(uid), int(gid))
user = c.get("User", "")
name, _, group = user.partition(":")
if name.isdigit():
    uid = int(name)
    gid = int(group) if group.isdigit() else next((g for u, g in passwd.values() if u == uid), None)
    check(any(u == uid for u, _ in passwd.values()), f"uid {uid} of User {user!r} is not in the image's /etc/passwd")
else:
    uid, gid = passwd.get(name, (None, None))
    check(uid is not None, f"User {user!r} is not in the image's /etc/passwd")
check(user != "" and uid not in (None, 0) and gid not in (None, 0),
      f"the image would run as root: User is {user!r} (an empty User is root)")

check(c.get("Entrypoint") == ["/usr/local/bin/outbound-operator"], f"Entrypoint {c.get('Entrypoint')}")
check(c.get("Cmd", [])[:1] == ["run"], f"Cmd {c.get('Cmd')}")
check(list(c.get("ExposedPorts", {})) == [f"{port}/tcp"],
      f"ExposedPorts {c.get('ExposedPorts')}, want {port}/tcp (the default --metrics-addr)")
check(cfg.get("os") == "linux" and cfg.get("architecture"), f"platform {cfg.get('os')}/{cfg.get('architecture')}")
labels = c.get("Labels", {})
want = {
    "org.opencontainers.image.source": "https://github.com/outbound-operator/outbound-operator",
    "org.opencontainers.image.revision": head,
    "org.opencontainers.image.licenses": license,
}
for key, value in want.items():
    check(labels.get(key) == value, f"label {key} = {labels.get(key)!r}, want {value!r}")
version = labels.get("org.opencontainers.image.version", "")
check(len(repo_tags) == 1 and repo_tags[0].endswith(":" + version) and version,
      f"tags {repo_tags} and label version {version!r} differ")
# The Dockerfile (for those who build with an engine) describes the same image.
stage = open("Dockerfile").read().split(" AS operator", 1)[1]
docker = dict(line.split(" ", 1) for line in stage.splitlines() if line[:1].isupper())
check(docker.get("USER") == user, f"Dockerfile USER {docker.get('USER')}, image {user!r}")
check(docker.get("EXPOSE") == port, f"Dockerfile EXPOSE {docker.get('EXPOSE')}, image {port}")
check(json.loads(docker.get("ENTRYPOINT", "null")) == c.get("Entrypoint"), f"Dockerfile ENTRYPOINT {docker.get('ENTRYPOINT')}")
check(json.loads(docker.get("CMD", "null")) == c.get("Cmd"), f"Dockerfile CMD {docker.get('CMD')}, image {c.get('Cmd')}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"{uid}:{gid}")
PY
) || fail "the image's config (above)"
env_args=()
while IFS= read -r line; do env_args+=("$line"); done < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["config"].get("Env", [])))' "$work/config.json")
mapfile -t entrypoint < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; print("\n".join(c["Entrypoint"] + c.get("Cmd", [])))' "$work/config.json")
say "config: User $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["User"])' "$work/config.json") (runs as $userspec), entrypoint ${entrypoint[*]}, port $metrics_port/tcp: ok"

# 3. No shell, and what the layers hold.
for shell in sh bash dash ash busybox; do
  found=$(find "$rootfs" -name "$shell" -type f,l) && [ -z "$found" ] || fail "the image holds a shell: $found"
done
say "layers: $(find "$rootfs" -type f | wc -l) files, $(du -sh "$rootfs" | cut -f1), no shell; $(find "$rootfs" -name '*.so*' -printf '%P ' )"

# The binary in the image is the build it says it is (and runs with the image's libraries alone).
json=$(env -i "${env_args[@]}" "$chroot" --userspec="$userspec" "$rootfs" "${entrypoint[0]}" version -o json) ||
  fail "the entrypoint does not run in the image's root filesystem"
python3 - "$json" "$work/config.json" <<'PY' || fail "the binary's version and the image's labels differ (above)"
import json, sys
binary = json.loads(sys.argv[1])
labels = json.load(open(sys.argv[2]))["config"]["Labels"]
assert binary["buildProfile"] == "release", binary
assert binary["version"] == labels["org.opencontainers.image.version"], (binary, labels)
assert binary["gitRevision"] == labels["org.opencontainers.image.revision"], (binary, labels)
PY
say "the entrypoint in the image: $(tr -d '\n ' <<<"$json")"

# 4. The operator from the image against the local control plane and the simulator.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sim_port=$(free_port)
"$sim_bin" --listen "127.0.0.1:$sim_port" --token demo-token --fixtures scripts/demo/fixtures.yaml >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
grep -q "listening on" "$work/sim.log" || fail "the simulator did not start: $(cat "$work/sim.log")"

ns=image-$(date +%s)-$$
k apply --server-side --force-conflicts --field-manager=outbound-image-test -f crds/outbound.dev_crds.yaml >/dev/null
k wait --for=condition=Established crd/outboundtasks.outbound.dev crd/outboundaccounts.outbound.dev --timeout=60s >/dev/null
k create namespace "$ns" >/dev/null
mkdir -p "$work/examples"
for file in manifests/examples/simulator/*.yaml manifests/examples/*.yaml; do
  sed "s#http://127.0.0.1:18080#http://127.0.0.1:$sim_port#" "$file" >"$work/examples/$(basename "$file")"
done
k apply -n "$ns" -f "$work/examples" >/dev/null

# As a Pod would have it: a kubeconfig mounted read-only (in a cluster: the ServiceAccount's token),
# POD_NAME and POD_NAMESPACE from the downward API; /proc from the runtime.
mkdir -p "$rootfs/proc" "$rootfs/var/run/outbound"
mount -t proc proc "$rootfs/proc"
"$kubectl" --kubeconfig "$KUBECONFIG" config view --flatten --minify >"$rootfs/var/run/outbound/kubeconfig"
chmod 0444 "$rootfs/var/run/outbound/kubeconfig"
operator_metrics=$(free_port)
env -i "${env_args[@]}" KUBECONFIG=/var/run/outbound/kubeconfig POD_NAME=image-test POD_NAMESPACE="$ns" \
  WATCH_NAMESPACE="$ns" "$chroot" --userspec="$userspec" "$rootfs" "${entrypoint[@]}" \
  --metrics-addr "127.0.0.1:$operator_metrics" >"$work/operator.log" 2>&1 &
operator_pid=$!
show_logs() { say "operator log (last 30 lines):"; tail -30 "$work/operator.log" >&2; }

holder=""
for _ in $(seq 300); do
  holder=$(k get lease -n "$ns" -o jsonpath='{.items[*].spec.holderIdentity}' 2>/dev/null || true)
  [ -n "$holder" ] && break
  kill -0 "$operator_pid" 2>/dev/null || { show_logs; fail "the operator from the image exited"; }
  sleep 0.2
done
[ "$holder" = image-test ] || { show_logs; fail "no Lease held by the operator (holder: '$holder')"; }
# The running process is the image's User, not root.
# (env and chroot exec, so the pid is the operator's.)
running_as=$(ps -o uid= -p "$operator_pid" | tr -d ' ')
[ "$running_as" = "${userspec%%:*}" ] || fail "the operator runs as uid $running_as, not ${userspec%%:*}"
say "the operator from the image runs as uid $running_as and holds the Lease $(k get lease -n "$ns" -o name)"
if ! k wait -n "$ns" --for=condition=Ready otask --all --timeout=120s >&2; then
  k get otask -n "$ns" -o wide >&2; show_logs; fail "the example tasks did not become Ready"
fi
say "every example task Ready: $(k get otask -n "$ns" -o name | tr '\n' ' ')"
# Its JSON log names the build, first thing.
python3 - "$work/operator.log" "$json" <<'PY' || { show_logs; fail "no JSON log line naming the build (above)"; }
import json, sys
binary = json.loads(sys.argv[2])
for line in open(sys.argv[1]):
    fields = json.loads(line)
    if fields.get("message") == "starting outbound-operator":
        got = {k: fields.get(k) for k in ("version", "git_revision", "build_profile")}
        want = {"version": binary["version"], "git_revision": binary["gitRevision"], "build_profile": binary["buildProfile"]}
        assert got == want, (got, want)
        break
else:
    sys.exit("no 'starting outbound-operator' line")
PY
say "PASS"
