#!/usr/bin/env bash
# Everything `npm test` and `npm run dev` need beyond `npm ci`, idempotent and quick when done:
# OS packages (bubblewrap for the local pipeline executor, openssl, git) and the pinned
# infrastructure binaries (built once from Go modules, then cached; see build-infra.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
# --test: what only the integration tests use (a real sshd serving git over ssh).
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[setup] missing: ${missing[*]}. Install them with your package manager (Debian: apt-get install ${missing[*]})." >&2
    exit 1
  fi
fi

bash "$here/build-infra.sh"
