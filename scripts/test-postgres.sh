#!/usr/bin/env bash
# Starts (start) or stops (stop DIR) a private PostgreSQL 15 cluster on a free port for tests;
# `pause DIR` / `resume DIR` stop and restart it with its data (a database outage).
# PG_FSYNC=on keeps fsync (benchmarks); tests run without it.
# `start` prints `CHAINOPS_TEST_POSTGRES_URL=... PGTEST_DIR=...` lines for eval.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
run_as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/chainops-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    run_as_pg "$PGBIN/initdb" -D "$dir/data" -U chainops --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    run_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-off} -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" > "$dir/port"
    echo "export CHAINOPS_TEST_POSTGRES_URL=postgres://chainops@127.0.0.1:$port/postgres"
    echo "export PGTEST_DIR=$dir"
    ;;
  pause)
    # Stops the server and keeps its data (an outage a test can end with `resume DIR`).
    dir=${2:?usage: test-postgres.sh pause DIR}
    run_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    dir=${2:?usage: test-postgres.sh resume DIR}
    port=$(cat "$dir/port")
    run_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-off} -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    dir=${2:?usage: test-postgres.sh stop DIR}
    run_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start | pause DIR | resume DIR | stop DIR" >&2; exit 2 ;;
esac
