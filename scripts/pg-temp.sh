#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests.
#
#   scripts/pg-temp.sh start DIR          initdb DIR/data, start it on a free port of 127.0.0.1,
#                                         create database custos_test and print its URL
#   scripts/pg-temp.sh createdb DIR NAME  create database NAME in that cluster, print its URL
#   scripts/pg-temp.sh stop DIR           stop the cluster (fine if it is not running)
#
# Only the URL goes to stdout (postgresql://postgres@127.0.0.1:PORT/NAME); everything else goes
# to stderr. Authentication is `trust`: for tests only. When run as root the server and its
# tools run as the `postgres` OS user, which then owns DIR.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

usage() {
  echo "usage: $0 start DIR | stop DIR | createdb DIR NAME" >&2
  exit 2
}

log() { echo "pg-temp: $*" >&2; }

# Runs a PostgreSQL tool, as the postgres user when we are root (the server refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

port_of() {
  local file="$1/port"
  [ -s "$file" ] || { log "no cluster in $1 (missing $file)"; exit 1; }
  cat "$file"
}

url_for() { echo "postgresql://postgres@127.0.0.1:$1/$2"; }

# createdb, tolerating a database that already exists.
create_db() {
  local dir="$1" port="$2" name="$3"
  if ! [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    log "database name must match [A-Za-z_][A-Za-z0-9_]*: $name"
    exit 2
  fi
  local exists
  exists=$(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XAtq \
    -c "SELECT 1 FROM pg_database WHERE datname = '$name'")
  if [ "$exists" != 1 ]; then
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres -E UTF8 -T template0 "$name" >&2
  fi
}

cmd_start() {
  local dir="$1"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$dir"
    # The postgres user must be able to reach DIR, e.g. under /tmp/x/y.
    local parent="$dir"
    while parent=$(dirname "$parent") && [ "$parent" != / ]; do
      if ! runuser -u postgres -- test -x "$parent"; then
        log "postgres cannot enter $parent (make it world-executable or pick another DIR)"
        exit 1
      fi
    done
  fi

  if [ -f "$dir/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "already running in $dir"
  else
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust \
        --no-instructions >&2
    fi
    # The port is free when picked but could be taken before the server binds it: retry.
    local attempt port
    for attempt in 1 2 3; do
      port=$(free_port)
      echo "$port" >"$dir/port"
      if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" >&2; then
        break
      fi
      if [ "$attempt" = 3 ]; then
        log "server failed to start; last lines of $dir/server.log:"
        tail -n 20 "$dir/server.log" >&2 || true
        exit 1
      fi
      log "start on port $port failed; retrying"
    done
  fi

  local port
  port=$(port_of "$dir")
  local tries=0
  until as_pg "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 100 ]; then
      log "server on port $port is not ready after 10s"
      exit 1
    fi
    sleep 0.1
  done
  create_db "$dir" "$port" custos_test
  log "running in $dir on 127.0.0.1:$port"
  url_for "$port" custos_test
}

cmd_stop() {
  local dir="$1"
  if [ ! -d "$dir/data" ]; then
    log "no cluster in $dir"
    return 0
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || log "not running"
}

cmd_createdb() {
  local dir="$1" name="$2"
  local port
  port=$(port_of "$dir")
  create_db "$dir" "$port" "$name"
  url_for "$port" "$name"
}

case "${1:-}" in
  start) [ $# -eq 2 ] || usage; cmd_start "$2" ;;
  stop) [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
  createdb) [ $# -eq 3 ] || usage; cmd_createdb "$2" "$3" ;;
  *) usage ;;
esac
