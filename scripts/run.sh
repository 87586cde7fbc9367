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
"$bin" demo seed --upstream "http://127.0.0.1:${PORTICO_DEMO_UPSTREAM_PORT:-9000}"
echo
echo "Serving: admin API http://127.0.0.1:8080, gateway http://127.0.0.1:8000 (Ctrl-C stops)."
"$bin" serve "$@"
