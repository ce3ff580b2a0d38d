#!/usr/bin/env bash
# The application processes: a Celery worker and the web app (gunicorn), idempotent.
#
#   ops/app.sh up|down|status|worker-up|worker-down|web-up|web-down
#
# Environment: CAP01_SERVICES_DIR (pid and log files, the secret key; default
# <repo>/.services/dev), CAP01_WEB_PORT (default 8000), CAP01_WEB_WORKERS (gunicorn worker
# processes, default 2), CAP01_WORKER_CONCURRENCY (default: CAP01_MAX_CONCURRENT_RUNS + 1, 4: a
# process for every run admitted at once and one spare, so that a run admitted while another
# finishes its task starts at once), CAP01_WORKER_BEAT (1, the default: the worker embeds
# Celery beat; 0: it does not, as every worker but one when several run), CAP01_INSTANCE (a
# name: several web or worker instances side by side, each with its own pid and log files
# under $CAP01_SERVICES_DIR/app-<name>/ and, for a worker, the node name cap01-<name>@host;
# ops/scale_out.sh starts two of each), plus everything
# cap01/settings.py reads (NEO4J_*, REDIS_PORT, DATABASE_URL, ...). DEBUG is off unless
# DJANGO_DEBUG=1 (ops/local_env.sh). Both processes write one JSON object per line to
# $CAP01_SERVICES_DIR/app/{worker,web}.log (gunicorn through cap01.gunicorn_logs.JsonLogger).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CAP01_SERVICES_DIR="${CAP01_SERVICES_DIR:-$ROOT/.services/dev}"
INSTANCE="${CAP01_INSTANCE:-}"
RUN_DIR="$CAP01_SERVICES_DIR/app${INSTANCE:+-$INSTANCE}"
WEB_PORT="${CAP01_WEB_PORT:-8000}"
VENV="$ROOT/.venv/bin"
mkdir -p "$RUN_DIR"
log() { echo "[app] $*" >&2; }
# shellcheck source=ops/local_env.sh
. "$ROOT/ops/local_env.sh"
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# One process more than runs admitted at once: with late acks and prefetch 1 a process holds its
# task until the task returns (the write, then the run's embedding), and a run admitted the
# moment the previous one was persisted waited for that; the periodic tasks took a slot too.
worker_up() {
  local WORKER_CONCURRENCY="${CAP01_WORKER_CONCURRENCY:-$(( ${CAP01_MAX_CONCURRENT_RUNS:-3} + 1 ))}"
  if alive "$RUN_DIR/worker.pid"; then log "worker already running (pid $(cat "$RUN_DIR/worker.pid"))"; return; fi
  local beat=(-B -s "$RUN_DIR/beat-schedule")
  [ "${CAP01_WORKER_BEAT:-1}" = 1 ] || beat=()
  log "starting a Celery worker${INSTANCE:+ $INSTANCE} (concurrency $WORKER_CONCURRENCY, late ack, prefetch 1${beat[0]:+, with beat})"
  rm -rf "$RUN_DIR/metrics-worker" && mkdir -p "$RUN_DIR/metrics-worker"
  PROMETHEUS_MULTIPROC_DIR="$RUN_DIR/metrics-worker" setsid nohup "$VENV/celery" -A cap01 worker -l info -c "$WORKER_CONCURRENCY" \
    --prefetch-multiplier 1 -n "cap01-${INSTANCE:-$$}@%h" "${beat[@]}" \
    >> "$RUN_DIR/worker.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/worker.pid"
  for _ in $(seq 1 120); do
    grep -q " ready." "$RUN_DIR/worker.log" 2>/dev/null && { log "worker ready"; return; }
    alive "$RUN_DIR/worker.pid" || { tail -30 "$RUN_DIR/worker.log" >&2; exit 1; }
    sleep 0.5
  done
  log "the worker did not report ready in 60 s; log: $RUN_DIR/worker.log"; exit 1
}

web_up() {
  if alive "$RUN_DIR/web.pid"; then log "web app already running on http://127.0.0.1:$WEB_PORT/"; return; fi
  "$VENV/python" manage.py collectstatic --noinput -v 0
  log "starting the web app${INSTANCE:+ $INSTANCE} (gunicorn) on http://127.0.0.1:$WEB_PORT/"
  rm -rf "$RUN_DIR/metrics-web" && mkdir -p "$RUN_DIR/metrics-web"
  PROMETHEUS_MULTIPROC_DIR="$RUN_DIR/metrics-web" setsid nohup "$VENV/gunicorn" cap01.wsgi:application --bind "127.0.0.1:$WEB_PORT" \
    --workers "${CAP01_WEB_WORKERS:-2}" --threads 4 --timeout 60 --access-logfile - \
    --logger-class cap01.gunicorn_logs.JsonLogger \
    >> "$RUN_DIR/web.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/web.pid"
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null 2>&1; then log "web app ready"; return; fi
    alive "$RUN_DIR/web.pid" || { tail -30 "$RUN_DIR/web.log" >&2; exit 1; }
    sleep 0.5
  done
  log "the web app did not answer /healthz in 60 s; log: $RUN_DIR/web.log"
  curl -sS "http://127.0.0.1:$WEB_PORT/healthz" >&2 || true; exit 1
}

stop_pid() {
  local name="$1" pidfile="$2"
  if ! alive "$pidfile"; then rm -f "$pidfile"; return; fi
  local pid; pid="$(cat "$pidfile")"
  kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "-$pid" 2>/dev/null || true
  rm -f "$pidfile"; log "$name stopped"
}

case "${1:-status}" in
  up) local_env; worker_up; web_up ;;
  worker-up) local_env; worker_up ;;
  worker-down) stop_pid worker "$RUN_DIR/worker.pid" ;;
  web-up) local_env; web_up ;;
  web-down) stop_pid web "$RUN_DIR/web.pid" ;;
  down) stop_pid web "$RUN_DIR/web.pid"; stop_pid worker "$RUN_DIR/worker.pid" ;;
  status)
    alive "$RUN_DIR/worker.pid" && echo "worker: running (pid $(cat "$RUN_DIR/worker.pid"))" || echo "worker: stopped"
    alive "$RUN_DIR/web.pid" && echo "web: running on http://127.0.0.1:$WEB_PORT/" || echo "web: stopped" ;;
  *) echo "usage: $0 up|down|status|worker-up|worker-down|web-up|web-down" >&2; exit 2 ;;
esac
