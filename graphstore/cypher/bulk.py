"""The bulk write of many runs in one statement (the scale benchmark's fill, tools/scale_fill.py).

PURE: imports neither django, neo4j, celery nor the clock. Derived from the writer's own statement
(write.WRITE_RUN) at import, not written a second time: each run's parameters travel as one row
of `$runs` (`run.runId`, `run.n_Ingredient`, ...; `$now` stays a parameter), every
subquery of the run's statement imports `run` and every WITH carries it. A test
(tests/integration/test_scale.py) writes
the same runs through the writer and through this statement and compares the two graphs node by
node and relationship by relationship.
"""

from __future__ import annotations

import re

from .write import KEEP_PLAN, WRITE_RUN

_SHARED = ("now",)  # parameters the whole batch shares


def _per_run(statement: str) -> str:
    text = re.sub(r"\$(\w+)", lambda m: m.group(0) if m.group(1) in _SHARED
                  else f"run.{m.group(1)}", statement)
    text = text.replace("CALL () {", "CALL (run) {")
    text = re.sub(r"^(\s*WITH )(.+?)( WHERE .*)?$",
                  lambda m: f"{m.group(1)}{m.group(2)}, run{m.group(3) or ''}", text,
                  flags=re.MULTILINE)
    return re.sub(r"CALL \(([^)]+)\) \{", lambda m: m.group(0) if "run" in m.group(1).split(", ")
                  else f"CALL ({m.group(1)}, run) {{", text)


# One row per run in `$runs` (the writer's parameters of that run, `ownerId` included), in the
# order given; returns each run's id, what was committed before (`checksum`, `condensed`) and
# its name clashes, as the writer's statement does.
WRITE_RUNS = (KEEP_PLAN + "UNWIND $runs AS run\nCALL (run) {\n  "
              + _per_run(WRITE_RUN.removeprefix(KEEP_PLAN)).replace("\n", "\n  ")
              + "\n}\nRETURN run.runId AS runId, checksum, condensed, nameClashes")
