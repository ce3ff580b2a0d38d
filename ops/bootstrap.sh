#!/usr/bin/env bash
# Installs what CAP-01 needs on a fresh machine of this kind, idempotently and quickly when done.
#
#   ops/bootstrap.sh [base|test]      (default: base; or CAP01_BOOTSTRAP_PROFILE=base|test)
#
# base (`make run`): Debian packages the services need (redis-server; Java 17 and Maven if
#   missing) and the virtualenv with requirements/base.txt, what running the app needs.
# test (`make test`): base plus the test-only Debian packages (chromium, PostgreSQL, prometheus,
#   haproxy) and requirements/test.txt (base + dev tooling + test runners).
# Every install is pinned by requirements/constraints.txt. A stamp per profile records the hash of
# the files that profile installs; a test install also stamps base (test.txt includes base.txt),
# so `make run` after `make test` installs nothing. Neo4j itself is fetched by ops/services.sh on
# first start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "[bootstrap] $*" >&2; }

profile="${1:-${CAP01_BOOTSTRAP_PROFILE:-base}}"
case "$profile" in
  base|test) ;;
  *) echo "usage: $0 [base|test]" >&2; exit 2 ;;
esac

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v javac >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
if [ "$profile" = test ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)  # the browser test drives Debian's chromium
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)  # DATABASE_URL tests
  command -v promtool >/dev/null || need_apt+=(prometheus)  # promtool tests the alert rules; a real Prometheus scrapes the app in a test
  command -v haproxy >/dev/null || need_apt+=(haproxy)  # the one address in front of two web instances (ops/scale_out.sh)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PYTHON_BIN="${PYTHON_BIN:-python3}"
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $("$PYTHON_BIN" --version)"
  "$PYTHON_BIN" -m venv .venv
fi
rm -f .venv/.requirements.sha256  # the single stamp of earlier versions of this script
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }
base_files=(requirements/base.txt requirements/constraints.txt)
test_files=(requirements/base.txt requirements/dev.txt requirements/test.txt requirements/constraints.txt)
if [ "$profile" = test ]; then files=("${test_files[@]}"); else files=("${base_files[@]}"); fi
stamp=".venv/.requirements-$profile.sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$(digest "${files[@]}")" ]; then
  log "installing Python packages (requirements/$profile.txt, pinned by requirements/constraints.txt)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "requirements/$profile.txt" -c requirements/constraints.txt
  digest "${files[@]}" > "$stamp"
  if [ "$profile" = test ]; then digest "${base_files[@]}" > .venv/.requirements-base.sha256; fi
fi
log "ready ($profile)"
