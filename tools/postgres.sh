#!/bin/sh
# A private PostgreSQL for the tests, never the machine's own: a cluster in a directory of its
# own, a server on a loopback port, trust for loopback connections, fsync off (tests never need
# the server's own crash safety). As root it runs as the `postgres` user: initdb refuses root.
#   tools/postgres.sh start DIR PORT   starts (creating the cluster when new), prints its URL
#   tools/postgres.sh stop DIR [MODE]  stops it (MODE: fast, the default, or immediate)
#   tools/postgres.sh run CMD...       a server in a temporary directory for the length of CMD,
#                                      which finds its URL in JITGATE_TEST_POSTGRES
set -eu

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || bindir=$(pg_config --bindir 2>/dev/null) || {
  echo "postgres.sh: no PostgreSQL server found; install Debian's postgresql package" >&2
  exit 1
}

owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  dir=$1 port=$2
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    owner "$bindir/initdb" -D "$dir/data" -U jitgate -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    fresh=1
  fi
  owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c max_connections=200" \
    start >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
  }
  if [ -n "${fresh:-}" ]; then
    owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U jitgate jitgate
  fi
  echo "postgres://jitgate@127.0.0.1:$port/jitgate"
}

stop() {
  owner "$bindir/pg_ctl" -D "$1/data" -m "${2:-fast}" -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start "$2" "$3" ;;
  stop) stop "$2" "${3:-}" ;;
  run)
    shift
    dir=$(mktemp -d)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    trap 'stop "$dir" immediate; rm -rf "$dir"' EXIT INT TERM
    JITGATE_TEST_POSTGRES=$(start "$dir" "$port")
    export JITGATE_TEST_POSTGRES
    "$@"
    ;;
  *) echo "usage: tools/postgres.sh start DIR PORT | stop DIR [fast|immediate] | run CMD..." >&2; exit 2 ;;
esac
