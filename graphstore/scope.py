"""Which runs a read over many runs covers: every run, or the runs of one owner.

PURE: imports neither django, neo4j, celery nor the clock.

The graph store knows owners only as opaque ids: the writer stores the id it is given on the run
node (`OrchestrationRun.ownerId`, graphstore/codecs/run.py) and the reads over many runs
(analytics, similar runs) keep the runs whose `ownerId` equals the scope's. Who may see what is
decided by the caller (orchestration/selectors.py); a run without an owner is in no owner's
scope, only in `RunScope.every_run()`.

Each scoped statement exists twice in graphstore/cypher/ (`{"all": ..., "owned": ...}`): the
owned one starts from the range index on (ownerId, startedAt), so a user's reads cost what the
user's runs cost. The scope picks the text and adds its parameter; it never changes the text
itself, so both plans stay cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALL, OWNED = "all", "owned"


@dataclass(frozen=True)
class RunScope:
    """Every run (`every_run()`), or the runs whose owner id is `owner_id` (`owned_by(id)`).
    There is no default: a read over many runs names its scope."""

    owner_id: str | None

    def __post_init__(self) -> None:
        if self.owner_id is not None and self.owner_id == "":
            raise ValueError("An owner id is a non-empty string.")

    @classmethod
    def every_run(cls) -> RunScope:
        return cls(None)

    @classmethod
    def owned_by(cls, owner_id: str) -> RunScope:
        if not owner_id:  # never let a missing id widen the scope to every run
            raise ValueError("owned_by needs an owner id; every_run() is the unscoped read.")
        return cls(owner_id)

    @property
    def everything(self) -> bool:
        return self.owner_id is None

    def statement(self, variants: Mapping[str, str]) -> str:
        """The variant of a scoped statement for this scope."""
        return variants[ALL if self.everything else OWNED]

    def params(self) -> dict[str, Any]:
        """The scope's parameter ($ownerId) for the owned variant; none for every run."""
        return {} if self.everything else {"ownerId": self.owner_id}
