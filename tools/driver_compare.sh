#!/usr/bin/env bash
# The writer's statement timed with the Neo4j driver builds we could use (issue 10: the driver is
# held at 5.19 by neomodel 5.3 / django-neomodel 0.2): the pinned 5.19.0 in pure Python, the
# same with its Rust extension (neo4j-rust-ext 5.19.0.0, which neomodel's pin allows), and the
# newest 5.x with its Rust extension. Each build lives in its own virtualenv (cached under
# .services/driver-venvs), the passes alternate build by build so that the machine's noise falls
# on all alike, and every pass writes new runs (first writes, as in production).
#
#   tools/driver_compare.sh [RUNS] [ROUNDS]      (the Neo4j of the environment: NEO4J_* settings)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${1:-100}"
ROUNDS="${2:-3}"
VENVS="$ROOT/.services/driver-venvs"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BUILDS=("pinned:neo4j==5.19.0" "pinned+rust:neo4j==5.19.0 neo4j-rust-ext==5.19.0.0"
        "5.28+rust:neo4j==5.28.8 neo4j-rust-ext==5.28.8.0")
for spec in "${BUILDS[@]}"; do
  name="${spec%%:*}"; pkgs="${spec#*:}"
  if [ ! -x "$VENVS/$name/bin/python" ]; then
    echo "[driver] building $name: $pkgs" >&2
    .venv/bin/python -m venv "$VENVS/$name"
    # shellcheck disable=SC2086
    "$VENVS/$name/bin/pip" install -q $pkgs
  fi
done
.venv/bin/python manage.py driver_compare workload "$WORK/workload.pickle" --runs "$RUNS"
for round in $(seq 1 "$ROUNDS"); do
  for spec in "${BUILDS[@]}"; do
    name="${spec%%:*}"
    echo "[driver] round $round/$ROUNDS: $name ($RUNS writes)" >&2
    "$VENVS/$name/bin/python" tools/driver_probe.py "$WORK/workload.pickle" "$name" "$round" \
      | sed "s/^{/{\"build\": \"$name\", /" >> "$WORK/probes.jsonl"
  done
done
.venv/bin/python manage.py driver_compare report "$WORK/probes.jsonl"
.venv/bin/python manage.py driver_compare cleanup
