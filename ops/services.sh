#!/usr/bin/env bash
# Local services for CAP-01: Neo4j 5.26 LTS Community (fetched with mvn, run on Java 17) and
# Redis (Debian's redis-server). Idempotent: `up` on a running service only checks it.
#
#   ops/services.sh up|down|status|restart [neo4j|redis|all]
#
# Environment (all optional):
#   CAP01_SERVICES_DIR  data, logs and pid files         (default: <repo>/.services/dev)
#   NEO4J_BOLT_PORT     Bolt port on 127.0.0.1            (default: 7687)
#   NEO4J_PASSWORD      password of user neo4j            (default: generated once, kept in
#                                                          $CAP01_SERVICES_DIR/neo4j/password)
#   NEO4J_HEAP_MB       JVM heap                          (default: 768)
#   NEO4J_PAGECACHE_MB  page cache                        (default: 256)
#   NEO4J_BOLT_TLS_DIR  a folder with private.key and public.crt (PEM): Bolt requires TLS with
#                       that certificate (default: none, plain Bolt); clients then use bolt+s://
#                       or neo4j+s:// (ops/neo4j/make_test_certs.sh makes a throwaway one)
#   REDIS_PORT          Redis port on 127.0.0.1           (default: 6379)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${CAP01_SERVICES_DIR:-$ROOT/.services/dev}"
DIST_DIR="$ROOT/.services/dist"
NEO4J_VERSION="$(sed -n 's:.*<neo4j.version>\(.*\)</neo4j.version>.*:\1:p' "$ROOT/ops/neo4j/pom.xml")"
NEO4J_DIST="$DIST_DIR/neo4j-$NEO4J_VERSION"
# The launcher compiled once per version of its source (the jars are fetched once per version).
NEO4J_CLASSES="$NEO4J_DIST/classes-$(sha256sum "$ROOT/ops/neo4j/Cap01Neo4j.java" | cut -c1-12)"
NEO4J_BOLT_TLS_DIR="${NEO4J_BOLT_TLS_DIR:-}"
NEO4J_DIR="$SERVICES_DIR/neo4j"
REDIS_DIR="$SERVICES_DIR/redis"
NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
NEO4J_HEAP_MB="${NEO4J_HEAP_MB:-768}"
NEO4J_PAGECACHE_MB="${NEO4J_PAGECACHE_MB:-256}"
REDIS_PORT="${REDIS_PORT:-6379}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "[services] $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

neo4j_password() {
  if [ -n "${NEO4J_PASSWORD:-}" ]; then echo "$NEO4J_PASSWORD"; return; fi
  mkdir -p "$NEO4J_DIR"
  if [ ! -s "$NEO4J_DIR/password" ]; then
    (umask 077; "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))' > "$NEO4J_DIR/password")
  fi
  cat "$NEO4J_DIR/password"
}

neo4j_fetch() {
  if [ ! -d "$NEO4J_DIST/lib" ]; then
    log "fetching Neo4j $NEO4J_VERSION Community with mvn (first use only)"
    rm -rf "$NEO4J_DIST.tmp" && mkdir -p "$NEO4J_DIST.tmp"
    mvn -q -B -f "$ROOT/ops/neo4j/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$NEO4J_DIST.tmp/lib" -DincludeScope=runtime >&2
    rm -rf "$NEO4J_DIST" && mv "$NEO4J_DIST.tmp" "$NEO4J_DIST"
  fi
  if [ ! -f "$NEO4J_CLASSES/Cap01Neo4j.class" ]; then
    local tmp="$NEO4J_CLASSES.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    javac -nowarn -cp "$NEO4J_DIST/lib/*" -d "$tmp" "$ROOT/ops/neo4j/Cap01Neo4j.java"
    mv -T "$tmp" "$NEO4J_CLASSES" 2>/dev/null || rm -rf "$tmp"  # another start compiled it first
  fi
}

neo4j_ready() {  # over TLS when Bolt requires it (bolt+ssc: any certificate, our own server)
  NEO4J_URI="bolt${NEO4J_BOLT_TLS_DIR:++ssc}://127.0.0.1:$NEO4J_BOLT_PORT" NEO4J_PASSWORD="$(neo4j_password)" \
    "$PYTHON" "$ROOT/ops/neo4j/wait_ready.py" "$@"
}

neo4j_up() {
  if alive "$NEO4J_DIR/pid"; then
    neo4j_ready --timeout 120 --pid "$(cat "$NEO4J_DIR/pid")" --log "$NEO4J_DIR/neo4j.log"
    log "neo4j already running (pid $(cat "$NEO4J_DIR/pid"), bolt://127.0.0.1:$NEO4J_BOLT_PORT)"
    return
  fi
  neo4j_fetch
  mkdir -p "$NEO4J_DIR/data"
  local password; password="$(neo4j_password)"
  rm -f "$NEO4J_DIR/ready"
  log "starting neo4j $NEO4J_VERSION on bolt${NEO4J_BOLT_TLS_DIR:++s}://127.0.0.1:$NEO4J_BOLT_PORT (heap ${NEO4J_HEAP_MB}m, page cache ${NEO4J_PAGECACHE_MB}m)"
  NEO4J_DATA_DIR="$NEO4J_DIR/data" NEO4J_PASSWORD="$password" NEO4J_BOLT_PORT="$NEO4J_BOLT_PORT" \
  NEO4J_PAGECACHE_MB="$NEO4J_PAGECACHE_MB" NEO4J_READY_FILE="$NEO4J_DIR/ready" \
  NEO4J_BOLT_TLS_DIR="$NEO4J_BOLT_TLS_DIR" \
    setsid nohup "$JAVA" "-Xms${NEO4J_HEAP_MB}m" "-Xmx${NEO4J_HEAP_MB}m" -XX:+UseG1GC \
      -XX:+ExitOnOutOfMemoryError -Dfile.encoding=UTF-8 \
      -cp "$NEO4J_CLASSES:$NEO4J_DIST/lib/*" Cap01Neo4j >> "$NEO4J_DIR/neo4j.log" 2>&1 < /dev/null &
  echo $! > "$NEO4J_DIR/pid"
  neo4j_ready --timeout 180 --pid "$(cat "$NEO4J_DIR/pid")" --log "$NEO4J_DIR/neo4j.log" \
    --ready-file "$NEO4J_DIR/ready"
  log "neo4j ready (pid $(cat "$NEO4J_DIR/pid"))"
}

stop_pid() {  # stop_pid NAME PIDFILE
  local name="$1" pidfile="$2"
  if ! alive "$pidfile"; then rm -f "$pidfile"; log "$name not running"; return; fi
  local pid; pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 60 s, killing"; kill -9 "$pid" || true; fi
  rm -f "$pidfile"
  log "$name stopped"
}

redis_up() {
  command -v redis-server >/dev/null || { log "redis-server is not installed: run ops/bootstrap.sh"; exit 1; }
  mkdir -p "$REDIS_DIR"
  if alive "$REDIS_DIR/pid" && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "redis already running (pid $(cat "$REDIS_DIR/pid"), redis://127.0.0.1:$REDIS_PORT)"
    return
  fi
  log "starting redis on redis://127.0.0.1:$REDIS_PORT (append-only file on)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" --daemonize yes \
    --pidfile "$REDIS_DIR/pid" --logfile "$REDIS_DIR/redis.log" --appendonly yes \
    --save "" --protected-mode yes
  for _ in $(seq 1 100); do
    if [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; then log "redis ready"; return; fi
    sleep 0.1
  done
  log "redis did not answer PING within 10 s; log: $REDIS_DIR/redis.log"; tail -20 "$REDIS_DIR/redis.log" >&2; exit 1
}

status() {
  if alive "$NEO4J_DIR/pid" && neo4j_ready --timeout 5 >/dev/null 2>&1; then
    echo "neo4j: ready (pid $(cat "$NEO4J_DIR/pid"), bolt://127.0.0.1:$NEO4J_BOLT_PORT)"
  elif alive "$NEO4J_DIR/pid"; then echo "neo4j: running, not answering queries (pid $(cat "$NEO4J_DIR/pid"))"
  else echo "neo4j: stopped"; fi
  if alive "$REDIS_DIR/pid" && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "redis: ready (pid $(cat "$REDIS_DIR/pid"), redis://127.0.0.1:$REDIS_PORT)"
  else echo "redis: stopped"; fi
}

cmd="${1:-status}"; which="${2:-all}"
case "$cmd:$which" in
  up:neo4j) neo4j_up ;;
  up:redis) redis_up ;;
  up:all) redis_up; neo4j_up ;;
  down:neo4j) stop_pid neo4j "$NEO4J_DIR/pid" ;;
  down:redis) stop_pid redis "$REDIS_DIR/pid" ;;
  down:all) stop_pid neo4j "$NEO4J_DIR/pid"; stop_pid redis "$REDIS_DIR/pid" ;;
  restart:*) "$0" down "$which"; "$0" up "$which" ;;
  status:*) status ;;
  password:*) neo4j_password ;;
  *) echo "usage: $0 up|down|status|restart|password [neo4j|redis|all]" >&2; exit 2 ;;
esac
