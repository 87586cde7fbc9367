#!/usr/bin/env bash
# The policy at scale: a database of N API keys over N/100 users (one API, one grant), a release `portico serve`
# started on it. Measures how long until it is ready, its memory, and how long a key created through the admin API
# takes to work at the gateway while a client keeps calling it with an existing key (and the slowest of those calls).
# Prints the figures and appends them to bench/results/scale.md.
#
#   PORTICO_SCALE_KEYS   how many keys (default 1000000); several sizes: PORTICO_SCALE_KEYS="100000 1000000"
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${PORTICO_SCALE_KEYS:-1000000}
echo "building portico (release)" >&2
swift build -c release --product portico >/dev/null
bin=$PWD/.build/release/portico
scripts/pg.sh start >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
db=portico_bench_scale
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
upstream_port=$(free_port)
"$bin" demo-upstream --port "$upstream_port" >/dev/null 2>&1 & pids+=($!)
report=bench/results/scale.md
[ -f "$report" ] || printf '| date (UTC) | keys | users | ready after start | RSS | new key works after | slowest call meanwhile |\n|---|---:|---:|---:|---:|---:|---:|\n' >"$report"

for keys in $sizes; do
  users=$((keys / 100))
  scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
  scripts/pg.sh createdb "$db" >/dev/null
  export DATABASE_URL
  DATABASE_URL=$(scripts/pg.sh url "$db")
  "$bin" migrate >/dev/null
  echo "seeding $keys keys over $users users" >&2
  scripts/pg.sh psql -d "$db" >/dev/null <<SQL
BEGIN;
INSERT INTO groups (name) VALUES ('scale');
INSERT INTO apis (name, path_prefix, upstream) VALUES ('scale', '/scale', 'http://127.0.0.1:$upstream_port');
INSERT INTO api_access (name, all_apis) VALUES ('scale', true);
INSERT INTO api_access_groups (access_id, group_id) SELECT a.id, g.id FROM api_access a, groups g;
INSERT INTO users (email, name) SELECT 'scale-' || i || '@bench.example', 'Scale ' || i FROM generate_series(1, $users) i;
INSERT INTO memberships (user_id, group_id) SELECT u.id, g.id FROM users u, groups g;
INSERT INTO api_keys (user_id, name, prefix, secret_hash)
  SELECT u.id, 'key-' || k, 'pk_' || substr(md5(u.id::text || k), 1, 8), sha256((u.id::text || '/' || k)::bytea)
  FROM users u, generate_series(1, 100) k;
COMMIT;
ANALYZE;
SQL
  echo "scale password" | "$bin" admin create --email admin@scale.example >/dev/null
  token=$("$bin" admin token --email admin@scale.example 2>/dev/null)
  consumer=$(scripts/pg.sh psql -d "$db" -Atc "SELECT id FROM users WHERE email = 'scale-1@bench.example'")
  admin_port=$(free_port); gateway_port=$(free_port)
  started=$(now_ms)
  "$bin" serve --admin-port "$admin_port" --gateway-port "$gateway_port" --log-level warning >".build/bench-scale-serve.log" 2>&1 &
  serve=$!; pids+=("$serve")
  ready=""
  for _ in $(seq 1 6000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz")" = 200 ]; then ready=$(( $(now_ms) - started )); break; fi
    kill -0 "$serve" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "$keys keys: not ready within 10 minutes" >&2
    printf '| %s | %d | %d | not within 600 s | – | – | – |\n' "$(date -u '+%Y-%m-%d %H:%M')" "$keys" "$users" >>"$report"
    kill "$serve" 2>/dev/null || true
    continue
  fi
  rss_mib=$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$serve/status")
  # A first key to call with, then the timed one: created while a client keeps calling.
  call_key=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/api/v1/users/$consumer/keys" -d '{"name":"caller"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $call_key" "http://127.0.0.1:$gateway_port/scale/")" = 200 ] && break
    sleep 0.1
  done
  worst_file=$(mktemp)
  (
    worst=0
    while [ ! -f "$worst_file.stop" ]; do
      t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $call_key" "http://127.0.0.1:$gateway_port/scale/")
      worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
      echo "$worst" >"$worst_file"
    done
  ) &
  caller=$!
  created=$(now_ms)
  new_key=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/api/v1/users/$consumer/keys" -d '{"name":"new"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  works=""
  for _ in $(seq 1 6000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new_key" "http://127.0.0.1:$gateway_port/scale/")" = 200 ]; then
      works=$(( $(now_ms) - created )); break
    fi
    sleep 0.01
  done
  touch "$worst_file.stop"; wait "$caller" 2>/dev/null || true
  worst_ms=$(awk '{ printf "%.0f", $1 * 1000 }' "$worst_file"); rm -f "$worst_file" "$worst_file.stop"
  line=$(printf '| %s | %d | %d | %.1f s | %d MiB | %s | %s ms |' "$(date -u '+%Y-%m-%d %H:%M')" "$keys" "$users" \
    "$(awk -v m="$ready" 'BEGIN { print m / 1000 }')" "$rss_mib" "${works:+$(awk -v m="$works" 'BEGIN { printf "%.2f s", m / 1000 }')}" "$worst_ms")
  echo "$line"
  echo "$line" >>"$report"
  kill "$serve" 2>/dev/null || true
  wait "$serve" 2>/dev/null || true
done
