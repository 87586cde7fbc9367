#!/usr/bin/env bash
# The project's own PostgreSQL cluster for `make run` and `make test`: installs the server when the
# machine lacks it, makes a private cluster, and starts it on 127.0.0.1:$PORTICO_PG_PORT (default 54329)
# with trust authentication. A development cluster only: fsync is off for speed.
#
#   scripts/pg.sh start | stop | status | url [DB] | createdb DB | dropdb DB | dropprefix PREFIX | psql [ARGS]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORTICO_PG_PORT:-54329}
command=${1:-start}
shift || true

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && command -v pg_config >/dev/null; then dir=$(pg_config --bindir); fi
  echo "$dir"
}

install_server() {
  if [ -n "$(bindir)" ] && [ -x "$(bindir)/initdb" ]; then return; fi
  echo "pg.sh: installing the PostgreSQL server (apt)" >&2
  if [ "$(id -u)" != 0 ]; then echo "pg.sh: run as root, or install the 'postgresql' package first" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

datadir() {
  if [ -n "${PORTICO_PG_DIR:-}" ]; then echo "$PORTICO_PG_DIR"; return; fi
  # As root the cluster runs as 'postgres', which must reach the folder; a checkout it cannot reach
  # gets its cluster under /var/tmp instead.
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
    echo "/var/tmp/portico-pg-$port"
  else
    echo "$root/.data/pg-$port"
  fi
}

url() {
  echo "postgres://postgres@127.0.0.1:$port/${1:-portico}?sslmode=disable"
}

psql_cmd() {
  "$(bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

start() {
  install_server
  local dir bin
  dir=$(datadir)
  bin=$(bindir)
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then return; fi
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000" \
    start >/dev/null
}

case "$command" in
  start) start ;;
  stop)
    dir=$(datadir)
    if [ -f "$dir/PG_VERSION" ]; then as_owner "$(bindir)/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true; fi ;;
  status) as_owner "$(bindir)/pg_ctl" -D "$(datadir)" status ;;
  url) url "${1:-portico}" ;;
  createdb)
    name=${1:?database name}
    if [ -z "$(psql_cmd -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
      psql_cmd -d postgres -c "CREATE DATABASE \"$name\""
    fi ;;
  dropdb) psql_cmd -d postgres -c "DROP DATABASE IF EXISTS \"${1:?database name}\" WITH (FORCE)" ;;
  dropprefix)
    prefix=${1:?prefix}
    for name in $(psql_cmd -d postgres -tAc "SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'"); do
      psql_cmd -d postgres -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)"
    done ;;
  psql) psql_cmd -d portico "$@" ;;
  *) echo "usage: scripts/pg.sh start|stop|status|url|createdb|dropdb|dropprefix|psql" >&2; exit 2 ;;
esac
