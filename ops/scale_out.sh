#!/usr/bin/env bash
# Past one machine, demonstrated on this one (issue 13; `make scale-out`): PostgreSQL as the
# ledger, Neo4j and Redis shared, two web instances (gunicorn) behind one address (Debian's
# HAProxy), two worker instances (separate `celery worker` processes, node names
# cap01-worker-1@host and cap01-worker-2@host, only the first with beat); the load test submits
# over HTTP through the proxy and reads every run back through it; then the audit
# (`manage.py scale_out_audit`, tools/scale_out.py) checks that every accepted run is in the
# ledger and in Neo4j exactly once, created by exactly one worker write, and that both web and
# both worker instances took their share, and prints the table. Exit status: the audit's.
#
#   ops/scale_out.sh
#
# Environment (all optional):
#   SCALE_OUT_RUNS         measured runs (default 200), after SCALE_OUT_WARMUP (default 6)
#   SCALE_OUT_CONCURRENCY  runs the load test keeps in flight (default 8)
#   SCALE_OUT_PROXY_PORT   the one address, http://127.0.0.1:PORT (default 38080)
#   SCALE_OUT_WEB_PORTS    the two web instances' ports (default "38081 38082")
#   SCALE_OUT_STATS_PORT   HAProxy's statistics (default 38089)
#   SCALE_OUT_OUT          report folder (default <repo>/reports/scale-out)
#   SCALE_OUT_KEEP         1: leave everything running at the end (default 0: stop what it started)
#   CAP01_SERVICES_DIR     data, logs, pid files (default <repo>/.services/scaleout)
#   NEO4J_BOLT_PORT, REDIS_PORT   the shared Neo4j and Redis (default 37687, 36379)
#   CAP01_PG_PORT, CAP01_PG_DIR   the PostgreSQL ledger (default 35432, $CAP01_SERVICES_DIR/pg)
#   CELERY_BROKER_URL      the broker (default: Redis database 0 on REDIS_PORT); flushed first
#   CAP01_WEB_WORKERS, CAP01_WORKER_CONCURRENCY   per instance (default 1 and 2)
# Services already running (Neo4j, Redis, PostgreSQL of these folders and ports) are used and left
# running; those it starts are stopped at the end, as are the proxy and the four app processes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CAP01_SERVICES_DIR="${CAP01_SERVICES_DIR:-$ROOT/.services/scaleout}"
export NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-37687}" REDIS_PORT="${REDIS_PORT:-36379}"
export CAP01_PG_PORT="${CAP01_PG_PORT:-35432}" CAP01_PG_DIR="${CAP01_PG_DIR:-$CAP01_SERVICES_DIR/pg}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export CAP01_BLOB_STORE_URL="${CAP01_BLOB_STORE_URL:-file://$CAP01_SERVICES_DIR/blobs}"
RUNS="${SCALE_OUT_RUNS:-200}"
WARMUP="${SCALE_OUT_WARMUP:-6}"
CONCURRENCY="${SCALE_OUT_CONCURRENCY:-8}"
PROXY_PORT="${SCALE_OUT_PROXY_PORT:-38080}"
read -r WEB1_PORT WEB2_PORT <<< "${SCALE_OUT_WEB_PORTS:-38081 38082}"
STATS_PORT="${SCALE_OUT_STATS_PORT:-38089}"
OUT="${SCALE_OUT_OUT:-$ROOT/reports/scale-out}"
PROXY_DIR="$CAP01_SERVICES_DIR/haproxy"
MANAGE=("$ROOT/.venv/bin/python" manage.py)
log() { echo "[scale-out] $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
[ -x "$HAPROXY" ] || { log "HAProxy is not installed: run ops/bootstrap.sh test"; exit 1; }

# What was running before, so that only what this script starts is stopped.
started=()
alive "$CAP01_SERVICES_DIR/neo4j/pid" || started+=(neo4j)
alive "$CAP01_SERVICES_DIR/redis/pid" || started+=(redis)
[ -f "$CAP01_PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -1 "$CAP01_PG_DIR/data/postmaster.pid")" 2>/dev/null \
  || started+=(postgres)

teardown() {
  local status=$?
  if [ "${SCALE_OUT_KEEP:-0}" = 1 ]; then log "left running (SCALE_OUT_KEEP=1)"; exit "$status"; fi
  for instance in web-1 web-2 worker-1 worker-2; do
    CAP01_INSTANCE="$instance" ops/app.sh down >/dev/null 2>&1 || true
  done
  if alive "$PROXY_DIR/pid"; then kill "$(cat "$PROXY_DIR/pid")" 2>/dev/null || true; rm -f "$PROXY_DIR/pid"; fi
  for service in "${started[@]}"; do
    case "$service" in
      neo4j|redis) ops/services.sh down "$service" >/dev/null 2>&1 || true ;;
      postgres) ops/postgres.sh down >/dev/null 2>&1 || true ;;
    esac
  done
  log "stopped what it started"
  exit "$status"
}
trap teardown EXIT

log "services: Neo4j bolt://127.0.0.1:$NEO4J_BOLT_PORT, Redis $REDIS_PORT, PostgreSQL $CAP01_PG_PORT"
ops/services.sh up all
ops/postgres.sh up
DATABASE_URL="$(ops/postgres.sh url)"
export DATABASE_URL
# shellcheck source=ops/local_env.sh
. ops/local_env.sh
local_env  # one secret key, envelope key and Neo4j password for every process
"${MANAGE[@]}" migrate --noinput -v 0
"${MANAGE[@]}" install_graph_schema -v 0 >/dev/null
"${MANAGE[@]}" upgrade_graph -v 0 >/dev/null  # runs written before the present layout
redis-cli -u "$CELERY_BROKER_URL" flushdb >/dev/null  # no slot, lease or task of an earlier run

# The app processes: two web instances, two worker instances (each a process of its own with
# its own node name; one beat). Fresh logs: the audit counts their lines.
export CAP01_WEB_WORKERS="${CAP01_WEB_WORKERS:-1}" CAP01_WORKER_CONCURRENCY="${CAP01_WORKER_CONCURRENCY:-2}"
export CAP01_MAX_CONCURRENT_RUNS="${CAP01_MAX_CONCURRENT_RUNS:-$((2 * CAP01_WORKER_CONCURRENCY))}"
export CAP01_WORKER_METRICS_PORT=0  # two workers on one host: no fixed metrics port
for instance in web-1 web-2 worker-1 worker-2; do
  rm -f "$CAP01_SERVICES_DIR/app-$instance/"{web,worker}.log
done
CAP01_INSTANCE=worker-1 CAP01_WORKER_BEAT=1 ops/app.sh worker-up
CAP01_INSTANCE=worker-2 CAP01_WORKER_BEAT=0 ops/app.sh worker-up
CAP01_INSTANCE=web-1 CAP01_WEB_PORT="$WEB1_PORT" ops/app.sh web-up
CAP01_INSTANCE=web-2 CAP01_WEB_PORT="$WEB2_PORT" ops/app.sh web-up

# The one address: HAProxy, round robin over the two, health-checked on /healthz; it names the
# server that answered in X-Served-By. A request is never resent once sent (no retry-on), so a
# POST cannot be submitted twice by the proxy.
mkdir -p "$PROXY_DIR"
cat > "$PROXY_DIR/haproxy.cfg" <<EOF
global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend cap01
    bind 127.0.0.1:$PROXY_PORT
    option forwardfor
    default_backend cap01_web
backend cap01_web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    http-response set-header X-Served-By %s
    server web-1 127.0.0.1:$WEB1_PORT check inter 5s
    server web-2 127.0.0.1:$WEB2_PORT check inter 5s
listen stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /stats
EOF
"$HAPROXY" -c -q -f "$PROXY_DIR/haproxy.cfg"
if alive "$PROXY_DIR/pid"; then kill "$(cat "$PROXY_DIR/pid")"; sleep 0.5; fi
setsid nohup "$HAPROXY" -db -f "$PROXY_DIR/haproxy.cfg" >> "$PROXY_DIR/haproxy.log" 2>&1 < /dev/null &
echo $! > "$PROXY_DIR/pid"
for _ in $(seq 1 60); do
  up="$(curl --noproxy "*" -fsS "http://127.0.0.1:$STATS_PORT/stats;csv" 2>/dev/null | grep -c '^cap01_web,web-[12],.*,UP,' || true)"
  [ "$up" = 2 ] && break
  alive "$PROXY_DIR/pid" || { tail -20 "$PROXY_DIR/haproxy.log" >&2; exit 1; }
  sleep 0.5
done
[ "$up" = 2 ] || { log "HAProxy does not see both web instances UP"; exit 1; }
log "proxy ready: http://127.0.0.1:$PROXY_PORT/ -> web-1 :$WEB1_PORT, web-2 :$WEB2_PORT"

# The load test through the proxy, then the audit.
mkdir -p "$OUT"
"${MANAGE[@]}" loadtest --base-url "http://127.0.0.1:$PROXY_PORT" --user scale-out \
  --runs "$RUNS" --warmup "$WARMUP" --concurrency "$CONCURRENCY" --out "$OUT" --no-fail
"${MANAGE[@]}" scale_out_audit --loadtest "$OUT/loadtest.json" --user scale-out \
  --web "web-1=$CAP01_SERVICES_DIR/app-web-1/web.log" \
  --web "web-2=$CAP01_SERVICES_DIR/app-web-2/web.log" \
  --worker "worker-1=$CAP01_SERVICES_DIR/app-worker-1/worker.log" \
  --worker "worker-2=$CAP01_SERVICES_DIR/app-worker-2/worker.log" \
  --proxy-stats "http://127.0.0.1:$STATS_PORT/stats;csv" --out "$OUT"
