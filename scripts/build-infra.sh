#!/usr/bin/env bash
# Builds the pinned infrastructure binaries (Temporal CLI dev server, kube-apiserver, kubectl, etcd)
# from Go modules, caching them outside the repo by name and version, e.g.
#   ~/.cache/kratix-temporal/bin/kube-apiserver-v1.33.13
# Already-built binaries are re-used. An env var (TEMPORAL_BIN, KUBE_APISERVER_BIN, ETCD_BIN,
# KUBECTL_BIN, OTELCOL_BIN) pointing at an existing binary skips that build.
# Usage: scripts/build-infra.sh [temporal|kube-apiserver|kubectl|etcd|kubelet|kube-controller-manager|
#        kube-scheduler|kube-proxy|node|otelcol|s3-server ...]   (default: temporal etcd kube-apiserver kubectl)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=infra-versions.sh
. "$here/infra-versions.sh"

CACHE_DIR="${KRATIX_TEMPORAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kratix-temporal}"
BIN_DIR="$CACHE_DIR/bin"
mkdir -p "$BIN_DIR" "$CACHE_DIR/src"

log() { printf '[build-infra] %s\n' "$*" >&2; }

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    for g in /usr/local/go/bin/go /usr/lib/go/bin/go; do
      if [ -x "$g" ]; then PATH="$(dirname "$g"):$PATH"; export PATH; return; fi
    done
    log "Go (>= 1.24) is needed to build $1 $2, and no binary was found."
    log "Install Go (https://go.dev/doc/install or 'apt-get install golang-go' if recent enough),"
    log "or set $3 to the path of an existing $1 binary."
    exit 1
  fi
}

# already_have NAME VERSION ENVVAR: prints nothing and returns 0 if the binary is available.
already_have() {
  local name=$1 version=$2 envvar=$3
  local override="${!envvar:-}"
  if [ -n "$override" ]; then
    [ -x "$override" ] || { log "$envvar=$override is not an executable file"; exit 1; }
    log "$name: using $envvar=$override"
    return 0
  fi
  if [ -x "$BIN_DIR/$name-$version" ]; then
    log "$name $version: cached at $BIN_DIR/$name-$version"
    return 0
  fi
  return 1
}

build_temporal() {
  already_have temporal "$TEMPORAL_CLI_VERSION" TEMPORAL_BIN && return 0
  need_go temporal "$TEMPORAL_CLI_VERSION" TEMPORAL_BIN
  log "building temporal $TEMPORAL_CLI_VERSION (go install)"
  local tmp; tmp=$(mktemp -d "$CACHE_DIR/src/temporal.XXXX")
  CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags='-s -w' \
    "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  mv "$tmp/temporal" "$BIN_DIR/temporal-$TEMPORAL_CLI_VERSION"
  rm -rf "$tmp"
}

build_etcd() {
  already_have etcd "$ETCD_VERSION" ETCD_BIN && return 0
  need_go etcd "$ETCD_VERSION" ETCD_BIN
  log "building etcd $ETCD_VERSION (wrapper module)"
  local mod="$CACHE_DIR/src/etcd-$ETCD_VERSION"
  rm -rf "$mod"; mkdir -p "$mod"
  (
    cd "$mod"
    go mod init local.build/etcd >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BIN_DIR/etcd-$ETCD_VERSION.tmp" go.etcd.io/etcd/server/v3
  )
  mv "$BIN_DIR/etcd-$ETCD_VERSION.tmp" "$BIN_DIR/etcd-$ETCD_VERSION"
}

# A minimal OpenTelemetry Collector (scripts/otelcol/main.go): OTLP receiver + file exporter.
build_otelcol() {
  already_have otelcol "$OTELCOL_VERSION" OTELCOL_BIN && return 0
  need_go otelcol "$OTELCOL_VERSION" OTELCOL_BIN
  log "building otelcol $OTELCOL_VERSION (wrapper module; a few minutes on 2 cores)"
  local mod="$CACHE_DIR/src/otelcol-$OTELCOL_VERSION"
  rm -rf "$mod"; mkdir -p "$mod"
  cp "$here/otelcol/main.go" "$mod/main.go"
  (
    cd "$mod"
    go mod init local.build/otelcol >/dev/null 2>&1
    local core=go.opentelemetry.io/collector contrib=github.com/open-telemetry/opentelemetry-collector-contrib
    # Every collector module named at the pinned release, so none is raised to a newer one.
    go get "$contrib/exporter/fileexporter@$OTELCOL_VERSION" \
      "$core/otelcol@$OTELCOL_VERSION" "$core/receiver/otlpreceiver@$OTELCOL_VERSION" \
      "$core/service@$OTELCOL_VERSION" \
      "$core/confmap@$OTELCOL_STABLE_VERSION" "$core/confmap/provider/envprovider@$OTELCOL_STABLE_VERSION" \
      "$core/confmap/provider/fileprovider@$OTELCOL_STABLE_VERSION" \
      "$core/confmap/provider/yamlprovider@$OTELCOL_STABLE_VERSION"
    go mod tidy
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=$OTELCOL_VERSION" \
      -o "$BIN_DIR/otelcol-$OTELCOL_VERSION.tmp" .
  )
  mv "$BIN_DIR/otelcol-$OTELCOL_VERSION.tmp" "$BIN_DIR/otelcol-$OTELCOL_VERSION"
}

# The tests' S3 server: scripts/s3-server/main.go (SigV4 checks) on gofakes3, pinned. Cached by the
# gofakes3 version and a digest of main.go, so an edited main.go is rebuilt. Cold: ~10-30 s.
build_s3_server() {
  local src="$here/s3-server/main.go"
  local version; version="$GOFAKES3_VERSION-$(sha256sum "$src" | cut -c1-12)"
  already_have s3-server "$version" S3_SERVER_BIN && return 0
  need_go s3-server "$version" S3_SERVER_BIN
  log "building s3-server $version (gofakes3 $GOFAKES3_VERSION)"
  local mod="$CACHE_DIR/src/s3-server-$version"
  rm -rf "$mod"; mkdir -p "$mod"
  (
    cd "$mod"
    cp "$src" main.go
    go mod init local.build/s3-server >/dev/null 2>&1
    go get "github.com/johannesboyne/gofakes3@$GOFAKES3_VERSION"
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BIN_DIR/s3-server-$version.tmp" .
  )
  mv "$BIN_DIR/s3-server-$version.tmp" "$BIN_DIR/s3-server-$version"
}

# Every command the wrapper module can build: the control plane for all tests, the node
# (kubelet, kube-controller-manager, kube-scheduler, kube-proxy) for the kubernetes executor.
K8S_COMMANDS="kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy"

# One wrapper module requiring k8s.io/kubernetes and replacing each staging module (listed as
# v0.0.0 in k/k's own go.mod) with its published v0.Y.Z tag.
k8s_module() {
  local mod="$CACHE_DIR/src/kubernetes-$KUBERNETES_VERSION"
  # .ready names the commands the module was prepared for; a module made for fewer is redone.
  if [ "$(cat "$mod/.ready" 2>/dev/null)" != "$K8S_COMMANDS" ]; then
    rm -rf "$mod"; mkdir -p "$mod"
    (
      cd "$mod"
      go mod init local.build/kubernetes >/dev/null 2>&1
      local staging="v0.${KUBERNETES_VERSION#v1.}"
      local kkmod
      kkmod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
      [ -f "$kkmod" ] || { log "could not download k8s.io/kubernetes@$KUBERNETES_VERSION go.mod"; exit 1; }
      # copy godebug lines so GODEBUG defaults match upstream's build
      grep -E '^godebug ' "$kkmod" >> go.mod || true
      for m in $(grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0(\s|$)' "$kkmod" | awk '{print $1}' | sort -u); do
        go mod edit -replace="$m=$m@$staging"
      done
      local pkgs=()
      for c in $K8S_COMMANDS; do pkgs+=("k8s.io/kubernetes/cmd/$c@$KUBERNETES_VERSION"); done
      go get "${pkgs[@]}"
    )
    echo "$K8S_COMMANDS" > "$mod/.ready"
  fi
  echo "$mod"
}

k8s_ldflags() {
  local v=$KUBERNETES_VERSION minor
  minor=$(echo "$v" | cut -d. -f2)
  echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/component-base/version.gitTreeState=clean"
}

build_k8s_cmd() {
  local name=$1 envvar=$2
  already_have "$name" "$KUBERNETES_VERSION" "$envvar" && return 0
  need_go "$name" "$KUBERNETES_VERSION" "$envvar"
  log "building $name $KUBERNETES_VERSION (wrapper module; a cold kube-apiserver build takes 10-25 min on 2 cores)"
  local mod; mod=$(k8s_module)
  (
    cd "$mod"
    CGO_ENABLED=0 go build -trimpath -tags=selinux,notest -ldflags="$(k8s_ldflags)" \
      -o "$BIN_DIR/$name-$KUBERNETES_VERSION.tmp" "k8s.io/kubernetes/cmd/$name"
  )
  mv "$BIN_DIR/$name-$KUBERNETES_VERSION.tmp" "$BIN_DIR/$name-$KUBERNETES_VERSION"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(temporal etcd kube-apiserver kubectl)
start=$(date +%s)
for t in "${targets[@]}"; do
  case "$t" in
    temporal) build_temporal ;;
    etcd) build_etcd ;;
    kube-apiserver) build_k8s_cmd kube-apiserver KUBE_APISERVER_BIN ;;
    kubectl) build_k8s_cmd kubectl KUBECTL_BIN ;;
    kubelet) build_k8s_cmd kubelet KUBELET_BIN ;;
    kube-controller-manager) build_k8s_cmd kube-controller-manager KUBE_CONTROLLER_MANAGER_BIN ;;
    kube-scheduler) build_k8s_cmd kube-scheduler KUBE_SCHEDULER_BIN ;;
    kube-proxy) build_k8s_cmd kube-proxy KUBE_PROXY_BIN ;;
    otelcol) build_otelcol ;;
    s3-server) build_s3_server ;;
    node) for c in kubelet kube-controller-manager kube-scheduler kube-proxy; do
            build_k8s_cmd "$c" "$(echo "$c" | tr a-z- A-Z_)_BIN"; done ;;
    *) log "unknown target $t"; exit 2 ;;
  esac
done
log "done in $(( $(date +%s) - start ))s; binaries in $BIN_DIR"
