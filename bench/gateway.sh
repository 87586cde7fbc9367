#!/usr/bin/env bash
# Portico's gateway side by side with nginx and HAProxy, in one run on this machine: every scenario sends the same
# request to the same upstream (nginx serving a small JSON) with wrk over loopback, for the same time with the same
# connections. Prints and writes bench/results/latest.md (req/s, p50, p99 and the ratios the targets are set on).
#
#   PORTICO_BENCH_SECONDS   load time per scenario (default 8), after a 2 s warm-up
#   PORTICO_BENCH_CONNECTIONS   wrk connections (default 32)
#   PORTICO_BENCH_FRESH_TOKENS  distinct tokens scenario 11 cycles through (default 12000, above the memory's 10 000)
#   PORTICO_BENCH_SCENARIOS     only these scenario numbers (e.g. "2 4 5"): a quick look, no report written
#   PORTICO_BENCH_PERF          scenario numbers during whose timed load `perf record` samples the proxy
#                               (call graphs in .build/bench-perf/ID.data; `perf report -i` reads them)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${PORTICO_BENCH_SECONDS:-8}
connections=${PORTICO_BENCH_CONNECTIONS:-32}
single_seconds=${PORTICO_BENCH_SINGLE_SECONDS:-3}
paced_seconds=${PORTICO_BENCH_PACED_SECONDS:-4}
export PORTICO_BENCH_PACE_MS=${PORTICO_BENCH_PACE_MS:-3}
keys=${PORTICO_BENCH_KEYS:-100000}
apis=${PORTICO_BENCH_APIS:-1000}
fresh_tokens=${PORTICO_BENCH_FRESH_TOKENS:-12000}
issuer="https://idp.bench.example"
started=$(date +%s)

elapsed() { echo "[$(( $(date +%s) - started )) s] $*" >&2; }
pythonpath=$(bench/deps.sh)
mint() { PYTHONPATH="$pythonpath" python3 bench/keys.py "$@"; }
echo "building portico (release)" >&2
swift build -c release --product portico >/dev/null
swift build -c release --product proxy-floor >/dev/null
bin=$PWD/.build/release/portico
scripts/pg.sh start >/dev/null
elapsed "built; setting up the peers and Portico"

run=$(mktemp -d /tmp/portico-bench.XXXXXX)
mkdir -p "$run/tmp"
chmod 755 "$run"
db="portico_bench_gateway"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pidfile in "$run"/*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
  rm -rf "$run"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
upstream_port=$(free_port); nginx_port=$(free_port); haproxy_port=$(free_port); nginx_tls_port=$(free_port)
admin_port=$(free_port); gateway_port=$(free_port)
render() {
  sed -e "s|@RUN@|$run|g" -e "s|@UPSTREAM_PORT@|$upstream_port|g" -e "s|@NGINX_PORT@|$nginx_port|g" \
      -e "s|@HAPROXY_PORT@|$haproxy_port|g" -e "s|@NGINX_TLS_PORT@|$nginx_tls_port|g" -e "s|@ISSUER@|$issuer|g" "$1" >"$2"
}
wait_for() { # URL [curl args…]: until it answers 200, at most 15 s
  local url=$1; shift
  for _ in $(seq 1 150); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null)" = 200 ] && return 0
    sleep 0.1
  done
  echo "no 200 from $url" >&2
  curl -s -i "$@" "$url" >&2 || true
  return 1
}

# Keys and tokens: RSA-2048 and P-256 pairs, an HS256 secret, a JWK set (served by the upstream nginx).
mint make "$run"
# The certificate both nginx (14) and Portico (15) present when they terminate TLS: P-256, self-signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$run/tls.key" -out "$run/tls.crt" 2>/dev/null
chmod 644 "$run"/*

render bench/upstream.nginx.conf "$run/upstream.conf"
render bench/proxy.nginx.conf "$run/proxy.conf"
render bench/haproxy.cfg "$run/haproxy.cfg"
nginx -p "$run" -c "$run/upstream.conf" -e "$run/upstream-error.log"
nginx -p "$run" -c "$run/proxy.conf" -e "$run/proxy-error.log"
haproxy -f "$run/haproxy.cfg" -D -p "$run/haproxy.pid"

scripts/pg.sh dropdb "$db" >/dev/null 2>&1 || true
scripts/pg.sh createdb "$db" >/dev/null
export DATABASE_URL PORTICO_MIGRATIONS=$PWD/sql PORTICO_TEMPLATES=$PWD/templates
DATABASE_URL=$(scripts/pg.sh url "$db")
"$bin" migrate >/dev/null
echo "bench admin password" | "$bin" admin create --email admin@bench.example >/dev/null
admin_token=$("$bin" admin token --email admin@bench.example 2>/dev/null)

# One `portico serve` (control plane and embedded gateway) as `make run` starts it; its RSS counts both.
"$bin" serve --admin-port "$admin_port" --gateway-port "$gateway_port" --log-level error & portico_pid=$!; pids+=($portico_pid)
# A second replica on the same database counting rate limits in its own memory, for scenario 13 against 10.
local_port=$(free_port)
"$bin" gateway --gateway-port "$local_port" --rate-limit-store local --log-level error & local_pid=$!; pids+=($local_pid)
# A third terminating TLS itself, for scenario 15 against nginx terminating it (14).
tls_port=$(free_port)
"$bin" gateway --gateway-port "$tls_port" --status-port "$(free_port)" --tls-cert "$run/tls.crt" --tls-key "$run/tls.key" \
  --log-level error & tls_pid=$!; pids+=($tls_pid)
# Scenario 16: SwiftNIO relaying bytes with nothing else (Benchmarks/ProxyFloor), the floor under Portico's own cost.
floor_port=$(free_port)
"$PWD/.build/release/proxy-floor" "$floor_port" "$upstream_port" & floor_pid=$!; pids+=($floor_pid)
admin="http://127.0.0.1:$admin_port/api/v1"
wait_for "http://127.0.0.1:$admin_port/readyz"
wait_for "http://127.0.0.1:$floor_port/"
api() { # METHOD PATH [JSON]
  local answer status
  answer=$(curl -s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$admin$2")
  status=${answer##*$'\n'}
  if [ "${status:0:1}" != 2 ]; then echo "$1 $2 → $status: ${answer%$'\n'*}" >&2; return 1; fi
  printf '%s' "${answer%$'\n'*}"
}
json_field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

upstream="http://127.0.0.1:$upstream_port"
api POST /groups '{"name":"bench"}' >/dev/null
user_id=$(api POST /users '{"email":"bench-user@bench.example","name":"Bench user","groups":["bench"]}' | json_field id)
api POST /apis "{\"name\":\"bench\",\"pathPrefix\":\"/bench\",\"upstream\":\"$upstream\"}" >/dev/null
api POST /apis "{\"name\":\"limited\",\"pathPrefix\":\"/limited\",\"upstream\":\"$upstream\"}" >/dev/null
api POST /accesses '{"name":"bench","groups":["bench"],"apis":["bench"]}' >/dev/null
# Far above what two cores can send in a second: every request is decided, none refused.
api POST /accesses '{"name":"limited","groups":["bench"],"apis":["limited"],"rateLimit":{"limit":100000000,"period":"1s"}}' >/dev/null
api_key=$(api POST "/users/$user_id/keys" '{"name":"bench"}' | json_field key)

declare -A rps p50 p99 single50 single99 paced_rps paced50 paced99 names cpu
# CPU time (user + system, in clock ticks) of the given processes and their children (nginx's worker).
cpu_ticks() {
  local pid total=0
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p" || true; done); do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
only=${PORTICO_BENCH_SCENARIOS:-}
wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
profiled() { [[ " ${PORTICO_BENCH_PERF:-} " == *" $1 "* ]]; }
load() { # ID NAME URL TOKEN [PID of the proxy, for its CPU time per request] [wrk script choosing each request's token] [quick]
  # With a script or "quick", only the saturating load runs (no paced or one-connection runs).
  local id=$1 name=$2 url=$3 token=$4 proxy=${5:-} script=${6:-} quick=${7:-} out before after perf_pid=
  local scripted=()
  [ -n "$script" ] && scripted=(-s "$script")
  wanted "$id" || return 0
  wait_for "$url" -H "Authorization: Bearer $token"
  wrk -t1 -c"$connections" -d2s "${scripted[@]}" -H "Authorization: Bearer $token" "$url" >/dev/null
  if [ -n "$proxy" ] && profiled "$id"; then
    mkdir -p .build/bench-perf
    perf record -q -e cpu-clock -F 2000 -g -o ".build/bench-perf/$id.data" -p "$(echo $proxy | tr ' ' ',')" -- sleep "$seconds" 2>/dev/null &
    perf_pid=$!
  fi
  [ -n "$proxy" ] && before=$(cpu_ticks $proxy)
  out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "${scripted[@]}" -H "Authorization: Bearer $token" "$url")
  [ -n "$proxy" ] && after=$(cpu_ticks $proxy)
  [ -n "$perf_pid" ] && wait "$perf_pid"
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    echo "scenario $id ($name) had failed requests:" >&2
    echo "$out" >&2
    exit 1
  fi
  read -r rps[$id] p50[$id] p99[$id] < <(summary <<<"$out")
  cpu[$id]=-
  if [ -n "$proxy" ]; then
    cpu[$id]=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="${rps[$id]}" -v s="$seconds" \
      'BEGIN { printf "%.1f", t / hz * 1e6 / (r * s) }')
  fi
  names[$id]=$name
  if [ -n "$script" ] || [ -n "$quick" ]; then
    paced_rps[$id]=- paced50[$id]=- paced99[$id]=- single50[$id]=- single99[$id]=-
    printf '%-3s %-46s %7s req/s  p50 %6s  p99 %6s ms  CPU %5s µs/req\n' "$id" "$name" "${rps[$id]}" "${p50[$id]}" "${p99[$id]}" "${cpu[$id]}" >&2
    return 0
  fi
  # The same connections at a paced rate far below saturation (bench/paced.lua): what each hop adds.
  out=$(wrk -t1 -c"$connections" -d"${paced_seconds}s" --latency -s bench/paced.lua -H "Authorization: Bearer $token" "$url")
  read -r paced_rps[$id] paced50[$id] paced99[$id] < <(summary <<<"$out")
  # One request at a time: the hop alone, with nothing else in flight.
  out=$(wrk -t1 -c1 -d"${single_seconds}s" --latency -H "Authorization: Bearer $token" "$url")
  read -r _ single50[$id] single99[$id] < <(summary <<<"$out")
  printf '%-3s %-46s %7s req/s  p50 %6s  p99 %6s ms  CPU %5s µs/req | %5s req/s paced: p99 %6s ms | 1 conn: p99 %6s ms\n' \
    "$id" "$name" "${rps[$id]}" "${p50[$id]}" "${p99[$id]}" "${cpu[$id]}" "${paced_rps[$id]}" "${paced99[$id]}" "${single99[$id]}" >&2
}
summary() { # wrk --latency output → req/s, p50 ms, p99 ms
  awk '
    function ms(v) { if (v ~ /us$/) return v * 0.001; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}
settings() { api PUT /auth-settings "$1" >/dev/null; }

path="/bench/items/42?view=full"
gateway="http://127.0.0.1:$gateway_port"
rs256=$(mint sign RS256 "$run/rsa-private.pem" "$issuer")
rs256_kid=$(mint sign RS256 "$run/rsa-private.pem" "$issuer" bench-rsa)
es256=$(mint sign ES256 "$run/ec-private.pem" "$issuer")
hs256=$(mint sign HS256 "$run/hmac.secret" "$issuer")

elapsed "ready"
echo "load: wrk, 1 thread, $connections connections, ${seconds}s per scenario after a 2 s warm-up" >&2
load 1 "direct to the upstream (floor)" "$upstream$path" "$rs256" "$(cat "$run/upstream.pid")"
load 2 "nginx, plain reverse proxy" "http://127.0.0.1:$nginx_port$path" "$rs256" "$(cat "$run/proxy.pid")"
load 16 "SwiftNIO relaying the bytes, nothing parsed (floor under Portico)" "http://127.0.0.1:$floor_port$path" "$rs256" "$floor_pid"
load 3 "HAProxy 2.6, jwt_verify RS256" "http://127.0.0.1:$haproxy_port$path" "$rs256" "$(cat "$run/haproxy.pid")"
load 4 "Portico, API key" "$gateway$path" "$api_key" "$portico_pid"
load 10 "Portico, API key, rate-limited grant (cluster store)" "$gateway/limited/items/42?view=full" "$api_key" "$portico_pid"
load 13 "Portico, API key, rate-limited grant (local store)" "http://127.0.0.1:$local_port/limited/items/42?view=full" "$api_key" "$local_pid"
load 14 "nginx over HTTPS (TLS 1.3), plain reverse proxy" "https://127.0.0.1:$nginx_tls_port$path" "$api_key" "$(cat "$run/proxy.pid")"
load 15 "Portico over HTTPS (TLS 1.3), API key" "https://127.0.0.1:$tls_port$path" "$api_key" "$tls_pid"
jwt_settings() { # key source JSON fragment, algorithm
  settings "{\"mode\":\"jwt\",\"jwt\":{$1,\"algorithms\":[\"$2\"],\"issuer\":\"$issuer\"}}"
}
pem() { python3 -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
jwt_settings "\"signingSecret\":\"file:$run/hmac.secret\"" HS256
load 5 "Portico, JWT HS256 (signingSecret)" "$gateway$path" "$hs256" "$portico_pid"
jwt_settings "\"jwksUrl\":\"$upstream/jwks.json\"" RS256
load 7 "Portico, JWT RS256 (jwksUrl)" "$gateway$path" "$rs256_kid" "$portico_pid"
jwt_settings "\"publicKey\":$(pem "$run/ec-public.pem")" ES256
load 8 "Portico, JWT ES256 (publicKey)" "$gateway$path" "$es256" "$portico_pid"
jwt_settings "\"publicKey\":$(pem "$run/rsa-public.pem")" RS256
load 6 "Portico, JWT RS256 (publicKey)" "$gateway$path" "$rs256" "$portico_pid"

if wanted 9; then
  elapsed "adding $keys API keys (of $((keys / 100)) users) and $apis APIs to the policy"
  scripts/pg.sh psql -d "$db" >/dev/null <<SQL
BEGIN;
INSERT INTO users (email, name) SELECT 'load-' || i || '@bench.example', 'Load ' || i FROM generate_series(1, $keys / 100) i;
INSERT INTO memberships (user_id, group_id)
  SELECT u.id, g.id FROM users u, groups g WHERE u.email LIKE 'load-%' AND g.name = 'bench';
INSERT INTO applications (user_id, name) SELECT id, 'default' FROM users WHERE email LIKE 'load-%';
INSERT INTO api_keys (user_id, application_id, name, prefix, secret_hash)
  SELECT u.id, a.id, 'key-' || k, 'pk_' || substr(md5(u.id::text || k), 1, 8), sha256((u.id::text || '/' || k)::bytea)
  FROM users u JOIN applications a ON a.user_id = u.id, generate_series(1, 100) k WHERE u.email LIKE 'load-%';
INSERT INTO apis (name, path_prefix, upstream) SELECT 'load-' || i, '/load-' || i, '$upstream' FROM generate_series(1, $apis) i;
INSERT INTO api_access_apis (access_id, api_id)
  SELECT a.id, p.id FROM api_access a, apis p WHERE a.name = 'bench' AND p.name LIKE 'load-%';
UPDATE policy_state SET version = version + 1, changed_at = now();
SELECT pg_notify('portico_policy', (SELECT version::text FROM policy_state));
COMMIT;
SQL
  version=$(scripts/pg.sh psql -d "$db" -Atc "SELECT version FROM policy_state")
  loaded() { curl -s "http://127.0.0.1:$admin_port/metrics" | awk -v want="$version" '/^portico_policy_version/ { found = ($2 + 0 >= want) } END { exit !found }'; }
  for _ in $(seq 1 300); do loaded && break; sleep 0.1; done
  loaded || { echo "the gateway did not load policy version $version" >&2; exit 1; }
  load 9 "Portico, JWT RS256, $keys keys + $apis APIs" "$gateway$path" "$rs256" "$portico_pid"
fi
if wanted 11; then
  # Last of the Portico scenarios, as it fills the verified-token memory (10 000): more distinct tokens than it
  # holds, so every request is verified in full.
  elapsed "signing $fresh_tokens RS256 tokens"
  export PORTICO_BENCH_TOKENS=$run/tokens.txt
  mint sign-many RS256 "$run/rsa-private.pem" "$issuer" "$fresh_tokens" >"$PORTICO_BENCH_TOKENS"
  load 11 "Portico, JWT RS256 (publicKey), a new token each request" "$gateway$path" "$rs256" "$portico_pid" bench/tokens.lua
fi
# nginx again: if the machine's speed changed during the run (other work on the host), its CPU time per request
# moves with it, and the ratios are suspect.
if [ -z "$only" ]; then
  load 12 "nginx, plain reverse proxy, again at the end" "http://127.0.0.1:$nginx_port$path" "$rs256" "$(cat "$run/proxy.pid")" "" quick
  drift=$(awk -v a="${cpu[2]}" -v b="${cpu[12]}" 'BEGIN { printf "%.1f", (b / a - 1) * 100 }')
fi
read -r rss_kib hwm_kib < <(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r, h }' "/proc/$portico_pid/status")
if [ -n "$only" ]; then echo "scenarios $only only: no report written" >&2; exit 0; fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v < t; print ok ? "met" : "NOT MET" }'; }
rs_haproxy=$(ratio "${rps[6]}" "${rps[3]}")
rs_fresh_haproxy=$(ratio "${rps[11]}" "${rps[3]}")
key_nginx=$(ratio "${rps[4]}" "${rps[2]}")
hs_nginx=$(ratio "${rps[5]}" "${rps[2]}")
tls_nginx=$(ratio "${rps[15]}" "${rps[14]}")
tls_cpu=$(ratio "${cpu[15]}" "${cpu[14]}")
floor_nginx=$(ratio "${cpu[16]}" "${cpu[2]}")
above_floor=$(awk -v p="${cpu[4]}" -v f="${cpu[16]}" 'BEGIN { printf "%.1f", p - f }')
cluster_cost=$(awk -v c="${cpu[10]}" -v l="${cpu[13]}" 'BEGIN { printf "%.1f", (c / l - 1) * 100 }')
worst_added() { # array name of p99s → the largest Portico p99 minus the direct one
  local -n values=$1
  local worst=0 id
  for id in 4 5 6 7 8 9 10; do worst=$(awk -v a="$worst" -v b="${values[$id]}" -v d="${values[1]}" 'BEGIN { x = b - d; print (x > a) ? x : a }'); done
  echo "$worst"
}
added=$(worst_added p99)
added_paced=$(worst_added paced99)
added_single=$(worst_added single99)
nginx_added=$(awk -v a="${p99[2]}" -v d="${p99[1]}" 'BEGIN { printf "%.3f", a - d }')
paced_rate=$(awk -v r="${paced_rps[1]}" 'BEGIN { printf "%.0f", r }')
many_vs_one=$(awk -v a="${rps[9]}" -v b="${rps[6]}" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }')
many_abs=${many_vs_one#-}
rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.0f", k / 1024 }')
hwm_mib=$(awk -v k="$hwm_kib" 'BEGIN { printf "%.0f", k / 1024 }')

mkdir -p bench/results
out=bench/results/latest.md
{
  echo "# Gateway benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)); wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'),"
  echo "1 thread, $connections connections, ${seconds} s per scenario after a 2 s warm-up; loopback, wrk sharing the cores."
  echo "Every scenario: \`GET $path\` with the same \`Authorization\` header to nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')"
  echo "answering a fixed 55-byte JSON (1 worker). Peers: nginx 1 worker with upstream keepalive; HAProxy"
  echo "$(haproxy -v | awk 'NR == 1 { print $3 }') with 2 threads checking alg, iss, exp and the RS256 signature (\`bench/haproxy.cfg\`)."
  echo "Portico: release build, one \`portico serve\` (control plane and gateway) with its defaults. Timings move between runs on shared machines;"
  echo "the ratios are taken within this one run."
  echo
  echo "| # | scenario | req/s | p50 ms | p99 ms | CPU µs/req | paced: req/s | p50 ms | p99 ms | 1 connection: p50 ms | p99 ms |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for id in 1 2 16 3 4 5 6 7 8 9 10 13 11 14 15; do
    echo "| $id | ${names[$id]} | ${rps[$id]} | ${p50[$id]} | ${p99[$id]} | ${cpu[$id]} | ${paced_rps[$id]} | ${paced50[$id]} | ${paced99[$id]} | ${single50[$id]} | ${single99[$id]} |"
  done
  echo
  echo "Paced: the same $connections connections, each waiting ${PORTICO_BENCH_PACE_MS} ms after every answer (\`bench/paced.lua\`), ${paced_seconds} s."
  echo "1 connection: one request at a time, ${single_seconds} s."
  echo "CPU µs/req: user + system time of the proxy's processes (nginx's worker included; for 1, the upstream's) during"
  echo "the timed load, divided by the requests it answered. It is steadier than req/s when wrk and the servers share two cores."
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| Portico RS256 (6) / HAProxy jwt_verify (3) ≥ 1.0 | $rs_haproxy | $(verdict "$rs_haproxy" ">=" 1.0) |"
  echo "| the same with a new token on every request (11), nothing remembered | $rs_fresh_haproxy | $(verdict "$rs_fresh_haproxy" ">=" 1.0) |"
  echo "| Portico API key (4) / nginx (2) ≥ 0.9 | $key_nginx | $(verdict "$key_nginx" ">=" 0.9) |"
  echo "| Portico HS256 (5) / nginx (2) ≥ 0.9 | $hs_nginx | $(verdict "$hs_nginx" ">=" 0.9) |"
  echo "| Portico over HTTPS (15) / nginx over HTTPS (14) ≥ 0.9; CPU per request $tls_cpu× nginx's | $tls_nginx | $(verdict "$tls_nginx" ">=" 0.9) |"
  echo "| Portico p99 − direct p99, worst of 4–10 < 1 ms: at $connections connections, cores saturated (nginx: $nginx_added ms) | $(printf '%.3f' "$added") ms | $(verdict "$added" "<" 1) |"
  echo "| the same at the paced load (about $paced_rate req/s) | $(printf '%.3f' "$added_paced") ms | $(verdict "$added_paced" "<" 1) |"
  echo "| the same, one request at a time | $(printf '%.3f' "$added_single") ms | $(verdict "$added_single" "<" 1) |"
  echo "| 100 000 keys + 1 000 APIs (9) vs RS256 (6), within 5 % | ${many_vs_one} % | $(verdict "$many_abs" "<" 5) |"
  echo "| rate limit counted in the cluster (10) vs locally (13): CPU per request at most 5 % more | ${cluster_cost} % | $(verdict "$cluster_cost" "<" 5) |"
  echo "| \`portico serve\` RSS at the end (100 000 keys, token memory full) < 200 MiB | $rss_mib MiB (peak $hwm_mib MiB) | $(verdict "$rss_mib" "<" 200) |"
  echo
  echo "SwiftNIO's floor (16) costs $floor_nginx× nginx's CPU per request (${cpu[16]} µs against ${cpu[2]}); Portico's API-key"
  echo "request (4) costs $above_floor µs more than that floor: parsing, the decision, the head rewrite, the rate-limit fields."
  echo
  echo "Machine steadiness: nginx measured again at the end took ${cpu[12]} µs of CPU per request, $drift % from scenario 2."
  if [ "$(verdict "${drift#-}" "<" 15)" != met ]; then
    echo "**The machine's speed changed by more than 15 % during this run: its ratios are not to be trusted; run it again.**"
  fi
  echo
  echo "Whole run: $(( $(date +%s) - started )) s."
} >"$out"
cat "$out"
