#!/usr/bin/env bash
# The main job (`make run`): Neo4j, Redis, a Celery worker and the web app up; the database and
# the graph schema ready; an admin user; one demo request run through the pipeline and shown.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CAP01_SERVICES_DIR="${CAP01_SERVICES_DIR:-$ROOT/.services/dev}"
WEB="http://127.0.0.1:${CAP01_WEB_PORT:-8000}"
PY=.venv/bin/python

ops/bootstrap.sh
ops/services.sh up all
# DEBUG off unless DJANGO_DEBUG=1; the secret key generated once under $CAP01_SERVICES_DIR.
# shellcheck source=ops/local_env.sh
. ops/local_env.sh
local_env
$PY manage.py migrate --noinput -v 0
$PY manage.py install_graph_schema -v 0 > /dev/null
$PY manage.py upgrade_graph -v 0 > /dev/null  # what a newer layout adds to runs written before it
$PY manage.py sync_run_owners -v 0 > /dev/null  # runs written before run nodes carried owners
credentials="$($PY manage.py ensure_admin)"
ops/app.sh up

echo
echo "== Demo request: lemon vinaigrette, 5 kg"
submitted="$($PY manage.py submit_request "lemon vinaigrette, 5 kg" --batch 5 --unit kg \
  --wait 120 --base-url "$WEB")"
echo "$submitted"
run_id="$(echo "$submitted" | sed -n 's/^Submitted \([^:]*\):.*/\1/p')"
echo
echo "== Read back from Neo4j"
$PY manage.py show_run "$run_id"
echo
echo "== Ready"
echo "Run page:   $WEB/runs/$run_id/"
echo "New request: $WEB/"
echo "Admin:      $WEB/admin/"
echo "API docs:   $WEB/api/docs/"
case "$DJANGO_DEBUG" in 1|true|yes|on) echo "DEBUG:      on (asked for)" ;; *) echo "DEBUG:      off (DJANGO_DEBUG=1 make run to turn it on)" ;; esac
echo "$credentials"
echo "Stop everything with: make stop"
