#!/usr/bin/env bash
# The policy at scale: a database of N API keys over N/100 users (one API, one grant), with two processes on it:
# `portico serve` (control plane + gateway A) and `portico gateway` (gateway B). Measures, release build:
#   - how long each takes to be ready (its cold load), and its resident memory;
#   - how long a new key, a revoked key, a disabled user and a changed grant take to work at both gateways
#     (p50/p99/max over PORTICO_SCALE_REPEAT changes of each kind, bench/scale_probe.py), while a steady load of
#     requests runs against both, and the slowest of those requests;
#   - CPU µs per request at gateway A under wrk (compare the 100-key run with the large ones);
#   - what one key, one user and one API cost in memory (`portico policy measure`, and 10 000 APIs added at the end).
# Prints the figures and appends them to bench/results/scale.md.
#
#   PORTICO_SCALE_KEYS    how many keys (default "100 1000000"; the 100-key run is the CPU baseline)
#   PORTICO_SCALE_REPEAT  changes of each kind (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${PORTICO_SCALE_KEYS:-100 1000000}
repeat=${PORTICO_SCALE_REPEAT:-20}
echo "building portico (release)" >&2
swift build -c release --product portico >/dev/null
bin=$PWD/.build/release/portico
scripts/pg.sh start >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
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
header='| date (UTC) | keys | users | ready A / B | RSS A / B | new key p99 | revoked key p99 | disabled user p99 | changed grant p99 | requests meanwhile: p99 / slowest | CPU per request | bytes per key / user / API |'
grep -qF "ready A / B" "$report" 2>/dev/null || printf '\n%s\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' "$header" >>"$report"

# Waits until `url` answers 200 (with `key`, if given); prints the milliseconds since `started`, or nothing.
wait_ok() {
  local url=$1 key=${2:-} started=$3 pid=$4
  for _ in $(seq 1 6000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' ${key:+-H "Authorization: Bearer $key"} "$url")" = 200 ]; then echo $(( $(now_ms) - started )); return; fi
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
}

for keys in $sizes; do
  users=$(( keys / 100 > 21 ? keys / 100 : 21 ))  # 21 at least: one to call with, 20 to change
  scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
  scripts/pg.sh createdb "$db" >/dev/null
  export DATABASE_URL
  DATABASE_URL=$(scripts/pg.sh url "$db")
  "$bin" migrate >/dev/null
  echo "seeding $keys keys over $users users" >&2
  scripts/pg.sh psql -d "$db" >/dev/null <<SQL
BEGIN;
INSERT INTO groups (name) VALUES ('scale'), ('probe');
INSERT INTO apis (name, path_prefix, upstream) VALUES ('scale', '/scale', 'http://127.0.0.1:$upstream_port');
INSERT INTO api_access (name, all_apis) VALUES ('scale', true);
INSERT INTO api_access (name, all_apis, rate_limit, rate_period_seconds) VALUES ('probe', true, 1000000, 3600);
INSERT INTO api_access_groups (access_id, group_id) SELECT a.id, g.id FROM api_access a JOIN groups g ON g.name = a.name;
INSERT INTO users (email, name) SELECT 'scale-' || i || '@bench.example', 'Scale ' || i FROM generate_series(1, $users) i;
INSERT INTO memberships (user_id, group_id) SELECT u.id, g.id FROM users u, groups g WHERE g.name = 'scale';
INSERT INTO applications (user_id, name) SELECT id, 'default' FROM users;
INSERT INTO api_keys (user_id, application_id, name, prefix, secret_hash)
  SELECT u.id, u.application, 'key-' || k, 'pk_' || substr(md5(k::text), 1, 8), sha256(('scale/' || k)::bytea)
  FROM generate_series(1, $keys) k
  JOIN (SELECT users.id, a.id AS application, row_number() OVER () - 1 AS n FROM users JOIN applications a ON a.user_id = users.id) u
    ON u.n = k % $users;
INSERT INTO users (email, name) VALUES ('probe@bench.example', 'Probe');
INSERT INTO memberships (user_id, group_id) SELECT u.id, g.id FROM users u, groups g WHERE u.email = 'probe@bench.example' AND g.name = 'probe';
COMMIT;
ANALYZE;
SQL
  echo "scale password" | "$bin" admin create --email admin@scale.example >/dev/null
  token=$("$bin" admin token --email admin@scale.example 2>/dev/null)
  q() { scripts/pg.sh psql -d "$db" -Atc "$1"; }
  consumer=$(q "SELECT id FROM users WHERE email = 'scale-1@bench.example'")
  change_users=$(q "SELECT string_agg(id::text, ',') FROM (SELECT id FROM users WHERE email LIKE 'scale-%' AND email <> 'scale-1@bench.example' ORDER BY email LIMIT 20) u")
  probe_user=$(q "SELECT id FROM users WHERE email = 'probe@bench.example'")
  probe_grant=$(q "SELECT id FROM api_access WHERE name = 'probe'")
  admin_port=$(free_port); gateway_a=$(free_port); gateway_b=$(free_port)

  started=$(now_ms)
  "$bin" serve --admin-port "$admin_port" --gateway-port "$gateway_a" --log-level info >".build/bench-scale-serve.log" 2>&1 &
  serve=$!; pids+=("$serve")
  ready_a=$(wait_ok "http://127.0.0.1:$admin_port/readyz" "" "$started" "$serve")
  started=$(now_ms)
  "$bin" gateway --gateway-port "$gateway_b" --log-level info >".build/bench-scale-gateway.log" 2>&1 &
  gateway=$!; pids+=("$gateway")
  call_key=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/api/v1/users/$consumer/keys" -d '{"name":"caller"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  ready_b=$(wait_ok "http://127.0.0.1:$gateway_b/scale/" "$call_key" "$started" "$gateway")
  wait_ok "http://127.0.0.1:$gateway_a/scale/" "$call_key" "$(now_ms)" "$serve" >/dev/null
  if [ -z "$ready_a" ] || [ -z "$ready_b" ]; then
    echo "$keys keys: a process was not ready within 5 minutes (see .build/bench-scale-*.log)" >&2
    kill "$serve" "$gateway" 2>/dev/null || true; wait "$serve" "$gateway" 2>/dev/null || true
    continue
  fi
  rss_a=$(rss_mib "$serve"); rss_b=$(rss_mib "$gateway")
  echo "$keys keys: ready A $ready_a ms, B $ready_b ms; RSS A $rss_a MiB, B $rss_b MiB; timing changes" >&2

  probe=$(python3 bench/scale_probe.py --admin "http://127.0.0.1:$admin_port" --token "$token" \
    --gateway "http://127.0.0.1:$gateway_a" --gateway "http://127.0.0.1:$gateway_b" --call-key "$call_key" \
    --users "$change_users" --probe-user "$probe_user" --probe-grant "$probe_grant" --repeat "$repeat")
  echo "$probe" >&2
  rss_a=$(( $(rss_mib "$serve") > rss_a ? $(rss_mib "$serve") : rss_a )); rss_b=$(( $(rss_mib "$gateway") > rss_b ? $(rss_mib "$gateway") : rss_b ))

  # CPU per request at gateway A, saturated by wrk for 10 s.
  before=$(cpu_ticks "$serve")
  requests=$(wrk -t1 -c16 -d10s -H "Authorization: Bearer $call_key" "http://127.0.0.1:$gateway_a/scale/" | awk '/requests in/ { print $1 }')
  after=$(cpu_ticks "$serve")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / r }')
  kill "$serve" "$gateway" 2>/dev/null || true
  wait "$serve" "$gateway" 2>/dev/null || true

  # Memory per part, read alone; then 10 000 more APIs, whose cost is the difference.
  measure=$("$bin" policy measure)
  echo "$measure" >&2
  # "keys   1000022 in 4.22 s, 160.9 MiB (168 bytes each)": count times bytes each is the part's total.
  part_bytes() { awk -v part="$1" '$1 == part { gsub(/[()]/, ""); for (i = 1; i <= NF; i++) if ($i == "bytes") print $2 * $(i - 1) }'; }
  part_count() { awk -v part="$1" '$1 == part { print $2 }'; }
  per_key=$(( $(part_bytes keys <<<"$measure") / $(part_count keys <<<"$measure") ))
  per_user=$(( $(part_bytes users <<<"$measure") / $(part_count users <<<"$measure") ))
  q "INSERT INTO apis (name, path_prefix, upstream) SELECT 'extra-' || i, '/extra-' || i, 'http://127.0.0.1:1' FROM generate_series(1, 10000) i" >/dev/null
  more=$("$bin" policy measure)
  echo "$more" >&2
  per_api=$(( ($(part_bytes APIs <<<"$more") - $(part_bytes APIs <<<"$measure")) / 10000 ))

  field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print('%.0f' % d[sys.argv[2]][sys.argv[3]])" "$probe" "$1" "$2"; }
  line=$(printf '| %s | %d | %d | %.1f / %.1f s | %d / %d MiB | %s ms | %s ms | %s ms | %s ms | %s / %s ms | %s µs | %s / %s / %s |' \
    "$(date -u '+%Y-%m-%d %H:%M')" "$keys" "$users" \
    "$(awk -v m="$ready_a" 'BEGIN { print m / 1000 }')" "$(awk -v m="$ready_b" 'BEGIN { print m / 1000 }')" "$rss_a" "$rss_b" \
    "$(field 'new key' p99_ms)" "$(field 'revoked key' p99_ms)" "$(field 'disabled user' p99_ms)" "$(field 'changed grant' p99_ms)" \
    "$(field load p99_ms)" "$(field load max_ms)" "$cpu_us" "${per_key:-–}" "${per_user:-–}" "${per_api:-–}")
  echo "$line"
  echo "$line" >>"$report"
done
