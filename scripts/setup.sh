#!/usr/bin/env bash
# Everything `npm test` and `npm run dev` need beyond `npm ci`, idempotent and quick when done:
# OS packages (bubblewrap for the local pipeline executor, openssl, git) and the pinned
# infrastructure binaries (built once from Go modules, then cached; see build-infra.sh).
#   --test  what only the integration tests use (a real sshd serving git over ssh, an OTLP
#           receiver, the S3 server, headless Chromium for the Web UI browser test)
#   --node  a real one-node cluster (src/infra/node.ts, `dev --node`): containerd, runc, CNI
#           plugins, iptables, a static busybox and gcc (the toolbox and pause images), and the
#           kubelet, kube-controller-manager, kube-scheduler and kube-proxy binaries
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

test_deps=false
node_deps=false
for arg in "$@"; do
  case "$arg" in
    --test) test_deps=true ;;
    --node) node_deps=true ;;
    *) echo "[setup] unknown option $arg (use --test, --node)" >&2; exit 2 ;;
  esac
done

# has_pkg PACKAGE: installed according to dpkg (always false without dpkg)
has_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if $test_deps; then
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  has_pkg fonts-dejavu-core || missing+=(fonts-dejavu-core) # readable screenshots
fi
if $node_deps; then
  command -v containerd >/dev/null 2>&1 || missing+=(containerd)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  # the toolbox image needs a statically linked busybox, the pause image a static libc
  has_pkg busybox-static || missing+=(busybox-static)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  has_pkg libc6-dev || [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] ||
    missing+=(libc6-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] missing: ${missing[*]}. Install them with your package manager (Debian: apt-get install ${missing[*]})." >&2
    exit 1
  fi
fi

targets=(temporal etcd kube-apiserver kubectl)
$node_deps && targets+=(node)
# the OTLP receiver (a minimal OpenTelemetry Collector) of the tracing test; the S3 server of the
# BucketStateStore tests
$test_deps && targets+=(otelcol s3-server)
bash "$here/build-infra.sh" "${targets[@]}"
