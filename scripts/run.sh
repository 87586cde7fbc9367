#!/usr/bin/env bash
# `make run`: migrate the local database, start the demo upstream, seed the demo and serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug/portico
scripts/pg.sh createdb portico
export DATABASE_URL=${DATABASE_URL:-$(scripts/pg.sh url portico)}
# The key that seals JWT signing secrets given as literals; made once, kept with the local data.
if [ -z "${PORTICO_SECRET_KEY:-}" ]; then
  mkdir -p .data
  [ -s .data/secret.key ] || (umask 077 && "$bin" secret-key > .data/secret.key)
  PORTICO_SECRET_KEY=$(cat .data/secret.key)
  export PORTICO_SECRET_KEY
fi
"$bin" migrate
"$bin" demo-upstream --port "${PORTICO_DEMO_UPSTREAM_PORT:-9000}" &
upstream=$!
trap 'kill $upstream 2>/dev/null || true' EXIT
echo
# An OpenID provider running locally (PORTICO_DEMO_OIDC_ISSUER, or oidc-provider-mock on its default port 9400) is
# registered for sign-in; none is needed.
issuer=${PORTICO_DEMO_OIDC_ISSUER:-}
if [ -z "$issuer" ] && curl -fs -m 1 http://127.0.0.1:9400/.well-known/openid-configuration >/dev/null 2>&1; then
  issuer=http://127.0.0.1:9400
fi
"$bin" demo seed --upstream "http://127.0.0.1:${PORTICO_DEMO_UPSTREAM_PORT:-9000}" ${issuer:+--identity-provider "$issuer"}
echo
echo "Serving: admin API http://127.0.0.1:8080, gateway http://127.0.0.1:8000 (Ctrl-C stops)."
"$bin" serve "$@"
