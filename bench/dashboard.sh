#!/usr/bin/env bash
# Dashboard pages against a 10 000-user database: each page is fetched several times by a signed-in admin and the
# median time is reported against the 200 ms target. Release build; writes bench/results/dashboard.md.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${PORTICO_BENCH_USERS:-10000}
runs=${PORTICO_BENCH_RUNS:-7}
swift build -c release --product portico >/dev/null
bin=.build/release/portico
scripts/pg.sh start >/dev/null
db="portico_bench_dashboard"
scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
scripts/pg.sh createdb "$db" >/dev/null
export DATABASE_URL
DATABASE_URL=$(scripts/pg.sh url "$db")
export PORTICO_TEMPLATES=$PWD/templates PORTICO_MIGRATIONS=$PWD/sql
"$bin" migrate >/dev/null
password="bench admin password"
echo "$password" | "$bin" admin create --email admin@bench.example >/dev/null

echo "seeding $users users, 20 groups, 100 APIs, 50 grants, $users keys and $users audit rows" >&2
scripts/pg.sh psql -d "$db" >/dev/null <<SQL
INSERT INTO groups (name) SELECT 'group-' || g FROM generate_series(1, 20) g;
INSERT INTO users (email, name, last_seen_at)
  SELECT 'user-' || i || '@bench.example', 'User ' || i, now() - (i || ' minutes')::interval FROM generate_series(1, $users) i;
INSERT INTO memberships (user_id, group_id)
  SELECT u.id, g.id FROM users u JOIN groups g ON g.name = 'group-' || (1 + abs(hashtext(u.email)) % 20) WHERE u.email LIKE 'user-%';
INSERT INTO apis (name, path_prefix, upstream) SELECT 'api-' || i, '/api-' || i, 'http://127.0.0.1:9000' FROM generate_series(1, 100) i;
INSERT INTO api_access (name, all_apis, rate_limit, rate_period_seconds) SELECT 'grant-' || i, i % 2 = 0, 100, 60 FROM generate_series(1, 50) i;
INSERT INTO api_access_groups (access_id, group_id)
  SELECT a.id, g.id FROM api_access a JOIN groups g ON g.name = 'group-' || (1 + abs(hashtext(a.name)) % 20);
INSERT INTO applications (user_id, name) SELECT id, 'default' FROM users WHERE email LIKE 'user-%';
INSERT INTO api_keys (user_id, application_id, name, prefix, secret_hash)
  SELECT u.id, a.id, 'key', 'pk_' || substr(md5(u.id::text), 1, 8), sha256(u.id::text::bytea)
  FROM users u JOIN applications a ON a.user_id = u.id WHERE u.email LIKE 'user-%';
INSERT INTO audit_log (actor, action, entity_type, entity_id, after)
  SELECT 'admin@bench.example', 'user.create', 'user', i::text, jsonb_build_object('n', i) FROM generate_series(1, $users) i;
SQL

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
gateway=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --admin-port "$port" --gateway-port "$gateway" --log-level error & server=$!
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

jar=$(mktemp)
base="http://127.0.0.1:$port"
csrf=$(curl -s -c "$jar" "$base/admin/sign-in" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "_csrf=$csrf" --data-urlencode "email=admin@bench.example" \
  --data-urlencode "password=$password" "$base/admin/sign-in"
user_id=$(scripts/pg.sh psql -d "$db" -Atc "SELECT id FROM users WHERE email = 'user-5000@bench.example'")
group_id=$(scripts/pg.sh psql -d "$db" -Atc "SELECT id FROM groups WHERE name = 'group-1'")

# The portal's page of an API with a large OpenAPI document (about 2 MiB, 500 operations), seen by the admin as a
# member of a group granted the API; the document is parsed on its first view and kept, its page built each time.
token=$("$bin" admin token --email admin@bench.example 2>/dev/null)
big_id=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"big","pathPrefix":"/big","upstream":"http://127.0.0.1:9000","stripPrefix":true}' "$base/api/v1/apis" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
python3 bench/big_openapi.py 500 2097152 >"$jar.openapi.json"
curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $token" --data-binary @"$jar.openapi.json" \
  "$base/api/v1/apis/$big_id/openapi" | grep -q 200 || { echo "the large OpenAPI document was not taken" >&2; exit 1; }
scripts/pg.sh psql -d "$db" >/dev/null <<SQL
INSERT INTO groups (name) VALUES ('portal-bench');
INSERT INTO memberships (user_id, group_id)
  SELECT u.id, g.id FROM users u, groups g WHERE u.email = 'admin@bench.example' AND g.name = 'portal-bench';
WITH grant_row AS (INSERT INTO api_access (name) VALUES ('portal-bench') RETURNING id)
INSERT INTO api_access_groups (access_id, group_id) SELECT grant_row.id, g.id FROM grant_row, groups g WHERE g.name = 'portal-bench';
INSERT INTO api_access_apis (access_id, api_id) SELECT a.id, '$big_id' FROM api_access a WHERE a.name = 'portal-bench';
SQL
rm -f "$jar.openapi.json"

pages=("/admin" "/admin/users" "/admin/users?page=100" "/admin/users?search=user-99" "/admin/users/$user_id" "/admin/groups"
       "/admin/groups/$group_id" "/admin/groups/$group_id?page=10" "/admin/apis" "/admin/accesses" "/admin/keys" "/admin/keys?page=150"
       "/admin/auth" "/admin/audit" "/admin/audit?page=150" "/portal/apis/$big_id" "/portal/apis/$big_id/openapi.json")
mkdir -p bench/results
out=bench/results/dashboard.md
{
  echo "# Dashboard pages with $users users ($(date -u '+%Y-%m-%d %H:%M UTC'), release build, median of $runs)"
  echo
  echo "| page | status | first ms | median ms | max ms | target: median < 200 ms |"
  echo "|---|---|---|---|---|---|"
} >"$out"
worst=0
for page in "${pages[@]}"; do
  times=()
  status=0
  for _ in $(seq 1 "$runs"); do
    read -r status seconds < <(curl -s -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' "$base$page")
    times+=("$seconds")
  done
  first=$(awk -v t="${times[0]}" 'BEGIN { printf "%.1f", t * 1000 }')
  read -r median max < <(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f\n", a[int((NR+1)/2)]*1000, a[NR]*1000}')
  verdict=$(awk -v m="$median" -v s="$status" 'BEGIN { print (m < 200 && s == 200) ? "met" : "NOT MET" }')
  [ "$verdict" = "met" ] || worst=1
  label=${page//$user_id/{user\}}
  label=${label//$group_id/{group\}}
  label=${label//$big_id/{API with a 2 MiB, 500-operation document\}}
  echo "| \`$label\` | $status | $first | $median | $max | $verdict |" >>"$out"
done
rm -f "$jar"
{
  echo
  echo "First: the first view after start-up. An API page with an OpenAPI document parses the document on its first view"
  echo "(then keeps it by its SHA-256) and keeps the rendered document part by document version, path prefix, credential"
  echo "kind and gateway URL, so later views only wrap it in the page."
} >>"$out"
cat "$out"
exit "$worst"
