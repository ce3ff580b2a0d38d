#!/usr/bin/env bash
# A local PostgreSQL (Debian's) for checking that CAP-01 runs on it through DATABASE_URL.
#
#   ops/postgres.sh up|down|url
#
# Environment: CAP01_PG_DIR (default <repo>/.services/pg), CAP01_PG_PORT (default 15432).
# The cluster listens on 127.0.0.1 only, with trust authentication: a test instance, not a
# production setup (there, DATABASE_URL points at your managed PostgreSQL with a password).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_DIR="${CAP01_PG_DIR:-$ROOT/.services/pg}"
PORT="${CAP01_PG_PORT:-15432}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$BIN" ] || { echo "[postgres] PostgreSQL is not installed: run ops/bootstrap.sh test" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-url}" in
  up)
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
      mkdir -p "$PG_DIR/data"
      [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PG_DIR"
      as_pg "$BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
        -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$PG_DIR" start >/dev/null
    fi
    as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='cap01'" | grep -q 1 \
      || as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres cap01
    echo "[postgres] ready: postgres://postgres@127.0.0.1:$PORT/cap01" >&2 ;;
  down)
    as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    echo "[postgres] stopped" >&2 ;;
  url) echo "postgres://postgres@127.0.0.1:$PORT/cap01" ;;
  *) echo "usage: $0 up|down|url" >&2; exit 2 ;;
esac
