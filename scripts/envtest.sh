#!/usr/bin/env bash
# A local Kubernetes control plane for tests: etcd + kube-apiserver on free loopback ports, no
# controller-manager, no scheduler, no kubelet (what controller-runtime calls "envtest").
#
#   scripts/envtest.sh up       start it (builds the binaries first if missing), or reuse the live one;
#                               prints `export KUBECONFIG=...` on stdout (progress goes to stderr), so
#                               `eval "$(scripts/envtest.sh up)"` works
#   scripts/envtest.sh down     stop exactly the processes `up` started and remove their files
#   scripts/envtest.sh status   say whether it runs (exit 0) or not (exit 1)
#   scripts/envtest.sh env      print `export KUBECONFIG=...` of the live plane (exit 1 if none)
#   scripts/envtest.sh extra-apiserver PORT KUBECONFIG_OUT
#                               a second kube-apiserver of the live plane (same etcd, same PKI) on
#                               127.0.0.1:PORT, in the foreground (exec: the caller's child IS the
#                               apiserver, so a test can SIGSTOP or kill it); writes a kubeconfig
#                               for it to KUBECONFIG_OUT first. Logs go to stdout/stderr.
#
#   ENVTEST_DIR            state dir: pki, etcd data, kubeconfig, pids, logs (default <repo>/.envtest)
#   ENVTEST_BIN            where etcd and kube-apiserver are (default: see scripts/build-envtest.sh)
#   ENVTEST_START_TIMEOUT  seconds to wait for /readyz (default 120)
#
# The PKI is a real CA (rustls rejects a self-signed leaf as trust anchor) signing a serving cert
# with an IP SAN 127.0.0.1 and an admin client cert; the kubeconfig's default user is a static
# token in system:masters, the `envtest-cert` context uses the client cert. Both work with kubectl
# and kube-rs. What does not work without a controller-manager: namespace deletion never finishes,
# no garbage collection, no default ServiceAccounts, Pods never run (see shared/notes/envtest.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/envtest-versions.sh"
bin=${ENVTEST_BIN:-$HOME/.cache/outbound-operator/envtest/$K8S_VERSION}
dir=${ENVTEST_DIR:-$root/.envtest}
start_timeout=${ENVTEST_START_TIMEOUT:-120}

say() { printf '[envtest] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Resolve the state dir to an absolute path: it is how we recognise our own processes.
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pki=$dir/pki
logs=$dir/logs
kubeconfig=$dir/kubeconfig

# pid_of NAME: the recorded pid of NAME (etcd | kube-apiserver) if that process is alive AND is
# ours (its command line names our state dir, so a recycled pid is never mistaken for it).
pid_of() {
  local f=$dir/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$dir/" || return 1
  echo "$pid"
}

token() { cut -d, -f1 "$pki/tokens.csv"; }
api_url() { sed -n 's/^API_URL=//p' "$dir/env"; }

# probe PATH: GET on the apiserver as admin; 0 when it answers 2xx.
probe() {
  curl -sf --max-time 5 --cacert "$pki/ca.crt" -H "Authorization: Bearer $(token)" \
    "$(api_url)$1" >/dev/null 2>&1
}

running() {
  pid_of etcd >/dev/null && pid_of kube-apiserver >/dev/null && [ -s "$kubeconfig" ] && [ -s "$dir/env" ]
}

print_env() { echo "export KUBECONFIG=$kubeconfig"; }

# stop_one NAME: TERM, then KILL after 15 s, only if the recorded pid is ours.
stop_one() {
  local pid i
  if pid=$(pid_of "$1"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$1 (pid $pid) ignored TERM for 15s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $1 (pid $pid)"
  fi
  rm -f "$dir/$1.pid"
}

# Remove what `up` created, except the logs (kept for post-mortems; `up` resets them). Only known
# names are removed, so a mistaken ENVTEST_DIR loses nothing else.
clean_state() {
  rm -rf "$pki" "$dir/etcd-data" "$kubeconfig" "$dir/env" "$dir/etcd.pid" "$dir/kube-apiserver.pid"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

make_pki() {
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 30 \
      -keyout ca.key -out ca.crt -subj "/CN=outbound-envtest-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    leaf() { # name subject extensions
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      printf '%b' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    leaf apiserver "/CN=kube-apiserver" 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1\n'
    leaf admin "/O=system:masters/CN=admin" 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
    openssl verify -CAfile ca.crt apiserver.crt admin.crt >/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub
    # token,user,uid,group (one group: no quotes needed)
    echo "$(openssl rand -hex 32),admin,admin-uid,system:masters" >tokens.csv
    chmod 600 ./*.key tokens.csv
  )
}

write_kubeconfig() { # api-url [file]
  local api=$1 out=${2:-$kubeconfig} b64
  b64() { base64 -w0 <"$1"; }
  cat >"$out.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: $api
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: envtest-admin
  user:
    token: $(token)
- name: envtest-admin-cert
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: envtest
  context: {cluster: envtest, user: envtest-admin, namespace: default}
- name: envtest-cert
  context: {cluster: envtest, user: envtest-admin-cert, namespace: default}
current-context: envtest
EOF
  chmod 600 "$out.tmp"
  mv "$out.tmp" "$out"
}

# apiserver_args PORT ETCD_URL ISSUER: the flags of a kube-apiserver of this plane, into `args`.
apiserver_args() {
  args=(
    --etcd-servers="$2"
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$1"
    --cert-dir="$pki" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key"
    --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv"
    --service-account-issuer="$3"
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key"
    --service-cluster-ip-range=10.0.0.0/24 --authorization-mode=RBAC
    --disable-admission-plugins=ServiceAccount --allow-privileged=true --profiling=false
  )
}

# tail_log NAME: the end of a process log, to stderr.
tail_log() {
  local f=$logs/$1.log
  [ -s "$f" ] || return 0
  say "---- last 40 lines of $f ----"
  tail -n 40 "$f" >&2
  say "---- end of $f ----"
}

# One attempt at starting both processes on fresh ports. Returns 1 (processes stopped) on failure;
# the caller retries, since a free port can be taken between the probe and the bind.
start_once() {
  local etcd_port etcd_peer api_port api i t0
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  api=https://127.0.0.1:$api_port
  printf 'API_URL=%s\nETCD_URL=http://127.0.0.1:%s\n' "$api" "$etcd_port" >"$dir/env"
  rm -rf "$dir/etcd-data"
  : >"$logs/etcd.log"; : >"$logs/kube-apiserver.log"

  t0=$(now)
  # setsid: detached from the caller's terminal and process group, so the plane outlives the shell
  # that started it; all fds redirected so no pipe of the caller is held open.
  setsid "$bin/etcd" --name=envtest --data-dir="$dir/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
    --initial-cluster="envtest=http://127.0.0.1:$etcd_peer" \
    --unsafe-no-fsync=true --log-level=warn \
    </dev/null >>"$logs/etcd.log" 2>&1 9>&- &
  echo $! >"$dir/etcd.pid"
  for i in $(seq 150); do
    curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 && break
    pid_of etcd >/dev/null || { say "etcd exited during start"; tail_log etcd; return 1; }
    sleep 0.1
  done
  curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 ||
    { say "etcd not healthy after 15s"; tail_log etcd; stop_one etcd; return 1; }
  say "etcd ready on 127.0.0.1:$etcd_port in $(since "$t0")s"

  local args
  apiserver_args "$api_port" "http://127.0.0.1:$etcd_port" "$api"
  setsid "$bin/kube-apiserver" "${args[@]}" </dev/null >>"$logs/kube-apiserver.log" 2>&1 9>&- &
  echo $! >"$dir/kube-apiserver.pid"

  for i in $(seq $((start_timeout * 5))); do
    probe /readyz && break
    if ! pid_of kube-apiserver >/dev/null; then
      say "kube-apiserver exited during start"; tail_log kube-apiserver; stop_one etcd; return 1
    fi
    sleep 0.2
  done
  if ! probe /readyz; then
    say "kube-apiserver not ready after ${start_timeout}s"; tail_log kube-apiserver
    stop_one kube-apiserver; stop_one etcd; return 1
  fi
  for i in $(seq 300); do
    probe /api/v1/namespaces/default && break
    sleep 0.1
  done
  if ! probe /api/v1/namespaces/default; then
    say "namespace default missing 30s after /readyz"; tail_log kube-apiserver
    stop_one kube-apiserver; stop_one etcd; return 1
  fi
  say "kube-apiserver ready on $api in $(since "$t0")s (etcd + apiserver start to /readyz and namespace default)"
  write_kubeconfig "$api"
}

cmd_up() {
  local t0 attempt
  t0=$(now)
  if running; then
    if probe /readyz; then
      say "already running (etcd pid $(pid_of etcd), kube-apiserver pid $(pid_of kube-apiserver)): reusing it"
      print_env
      return 0
    fi
    say "processes alive but /readyz fails: restarting"
  fi
  # Anything half-started (one process dead, files left over) is stopped and cleaned first.
  stop_one kube-apiserver
  stop_one etcd
  clean_state

  if [ ! -x "$bin/etcd" ] || [ ! -x "$bin/kube-apiserver" ]; then
    say "binaries missing in $bin: building them (scripts/build-envtest.sh)"
    ENVTEST_BIN=$bin "$root/scripts/build-envtest.sh" >/dev/null
  fi
  for b in openssl curl python3 setsid; do
    command -v "$b" >/dev/null || die "$b is required"
  done

  mkdir -p "$logs"
  make_pki
  for attempt in 1 2 3; do
    if start_once; then
      say "control plane up in $(since "$t0")s total; logs in $logs"
      print_env
      return 0
    fi
    stop_one kube-apiserver
    stop_one etcd
    say "start attempt $attempt failed"
  done
  clean_state
  die "could not start the control plane (logs in $logs)"
}

cmd_down() {
  local had=0
  if [ -e "$dir/kube-apiserver.pid" ] || [ -e "$dir/etcd.pid" ]; then had=1; fi
  stop_one kube-apiserver
  stop_one etcd
  clean_state
  if [ "$had" = 1 ]; then say "down; logs kept in $logs"; else say "nothing was running"; fi
}

cmd_status() {
  if running; then
    local ready=no
    probe /readyz && ready=yes
    say "running: etcd pid $(pid_of etcd), kube-apiserver pid $(pid_of kube-apiserver), $(api_url), ready=$ready"
    say "KUBECONFIG=$kubeconfig"
    [ "$ready" = yes ]
  else
    local p
    for p in etcd kube-apiserver; do
      if pid_of "$p" >/dev/null; then
        say "$p alive (pid $(pid_of "$p")) but the plane is incomplete: run up or down"
      elif [ -e "$dir/$p.pid" ]; then
        say "$p: pid file left but the process is gone"
      fi
    done
    say "not running"
    return 1
  fi
}

cmd_env() {
  running || die "not running: scripts/envtest.sh up"
  print_env
}

# A second apiserver of the live plane; it does not take the lock (it lives as long as its caller
# wants, and must not hold the lock meanwhile). Its endpoint reconciler is off, so it does not
# fight the first one over the `kubernetes` Service's endpoints.
cmd_extra_apiserver() {
  local port=${1:?usage: extra-apiserver PORT KUBECONFIG_OUT} out=${2:?usage: extra-apiserver PORT KUBECONFIG_OUT} args
  running || die "not running: scripts/envtest.sh up"
  write_kubeconfig "https://127.0.0.1:$port" "$out"
  apiserver_args "$port" "$(sed -n 's/^ETCD_URL=//p' "$dir/env")" "$(api_url)"
  exec "$bin/kube-apiserver" "${args[@]}" --endpoint-reconciler-type=none
}
if [ "${1:-}" = extra-apiserver ]; then
  shift
  cmd_extra_apiserver "$@"
fi

# One `up`/`down` at a time per state dir.
exec 9>"$dir/.lock"
flock 9

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 up|down|status|env|extra-apiserver PORT KUBECONFIG_OUT" >&2; exit 2 ;;
esac
