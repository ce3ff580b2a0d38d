"""Time the writer's statement with whichever Neo4j driver this interpreter has (driver_compare.sh
runs it once per driver build, each in its own virtualenv). Imports nothing from the project, so
that it runs in a bare virtualenv holding only the driver under test.

    python tools/driver_probe.py WORKLOAD.pickle TAG ROUND

WORKLOAD (written by `manage.py driver_compare workload`): the statement text, one parameter set
per run, and the connection (URI, user, password, database) of the environment's Neo4j. Every
runId is rewritten with TAG and ROUND so that each pass writes new runs (a first write, as in
production). Prints one JSON line: the driver, whether its Rust extension is loaded, and each
write's milliseconds (client side: session, transaction, statement, commit).
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
import time
from typing import Any


def _retag(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _retag(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_retag(v, old, new) for v in value]
    return value


def main(argv: list[str]) -> None:
    path, tag, round_ = argv
    with open(path, "rb") as handle:
        workload = pickle.load(handle)  # noqa: S301 (our own file, written just before)
    uri, user, password, database = workload["connection"]
    import neo4j

    # neo4j-rust-ext installs this module; the driver then packs and unpacks with it.
    rust = importlib.util.find_spec("neo4j._codec.packstream._rust") is not None
    statement: str = workload["statement"]
    timings = []
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        for params in workload["params"]:
            run_id = params["runId"]
            tagged = _retag(params, run_id, f"{run_id}-{tag.replace('+', '-')}-{round_}")

            def work(tx: Any, p: dict[str, Any] = tagged) -> None:
                tx.run(statement, p).consume()

            started = time.perf_counter()
            with driver.session(database=database) as session:
                session.execute_write(work)
            timings.append((time.perf_counter() - started) * 1000.0)
    print(json.dumps({"driver": neo4j.__version__, "rust": rust, "ms": timings}))


if __name__ == "__main__":
    main(sys.argv[1:])
