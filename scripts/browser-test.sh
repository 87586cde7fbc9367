#!/usr/bin/env bash
# The real-browser end-to-end test of `make test`: a fresh database, the real `portico serve` and echo upstream,
# headless Chromium driven by Selenium through the dashboard, the gateway and the portal. Screenshots of each page
# go to .build/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
pythonpath=$(scripts/browser-deps.sh)
oidc_provider=$(scripts/oidc-provider-deps.sh)
bin=${PORTICO_BIN:-.build/debug/portico}
db="portico_e2e_$$"
scripts/pg.sh createdb "$db" >/dev/null
export DATABASE_URL
DATABASE_URL=$(scripts/pg.sh url "$db")
export PORTICO_MIGRATIONS=${PORTICO_MIGRATIONS:-$PWD/sql} PORTICO_TEMPLATES=${PORTICO_TEMPLATES:-$PWD/templates}
PORTICO_SECRET_KEY=$("$bin" secret-key)
export PORTICO_SECRET_KEY
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A server still draining idle keep-alive connections after a second is stopped for good.
  sleep 1
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
admin_port=$(free_port); gateway_port=$(free_port); upstream_port=$(free_port); oidc_port=$(free_port)
"$bin" migrate >/dev/null
admin_password="e2e admin password $$"
echo "$admin_password" | "$bin" admin create --email admin@e2e.example --name "E2E Admin" >/dev/null
"$bin" demo-upstream --port "$upstream_port" >/dev/null 2>&1 & pids+=($!)
"$oidc_provider" --port "$oidc_port" --user-claims '{"sub": "bea", "email": "bea@e2e.example", "groups": ["buyers"]}' \
  >.build/browser-oidc-provider.log 2>&1 & pids+=($!)
log=.build/browser-serve.log
"$bin" serve --admin-port "$admin_port" --gateway-port "$gateway_port" --log-level warning >"$log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$oidc_port/.well-known/openid-configuration" >/dev/null 2>&1 && break
  sleep 0.2
done
mkdir -p .build/screenshots
PORTICO_ADMIN_URL="http://127.0.0.1:$admin_port" PORTICO_GATEWAY_URL="http://127.0.0.1:$gateway_port" \
PORTICO_UPSTREAM="http://127.0.0.1:$upstream_port" PORTICO_ADMIN_EMAIL=admin@e2e.example PORTICO_ADMIN_PASSWORD="$admin_password" \
PORTICO_OIDC_ISSUER="http://127.0.0.1:$oidc_port" \
PORTICO_SCREENSHOTS="$PWD/.build/screenshots" PYTHONPATH="$pythonpath" python3 Tests/browser/e2e_test.py
