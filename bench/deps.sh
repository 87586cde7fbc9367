#!/usr/bin/env bash
# Installs what `make bench` needs, when missing: wrk, nginx and HAProxy from Debian, and PyJWT (with its
# cryptography backend) into .build/bench-python to sign the RS256/ES256 test tokens. Prints the PYTHONPATH to use.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # The packages start system-wide services; the benchmark runs its own instances.
  for service in nginx haproxy; do service "$service" stop >/dev/null 2>&1 || true; done
fi
target=$PWD/.build/bench-python
if ! PYTHONPATH="$target" python3 -c 'import jwt, cryptography' 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq python3-pip >/dev/null
  fi
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
    python3 -m pip install -q --disable-pip-version-check --target "$target" 'pyjwt[crypto]>=2.8'
fi
echo "$target"
