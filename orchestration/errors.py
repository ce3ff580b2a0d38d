"""Errors of the orchestration app: one tree, mapped to JSON answers in one place
(orchestration/api/errors.py, `exception_handler`).

    OrchestrationError
    ├── RunNotFound        no ledger row has that runId                          404 not_found
    ├── RunConflict        the runId is taken in the ledger by other content     409 run_conflict
    ├── BatchRefused       runs given together (ingest_run's document) of which  409 batch_refused
    │                      some cannot be written: none is; `errors` names each
    ├── QueueFull          the intake queue is at its limit; nothing recorded   429 queue_full
    └── DiffBaseMissing    a diff without `against` of a run that is no replay  400 invalid

The same concepts in the graph store keep the same names there (graphstore.errors.RunNotFound:
no committed run in Neo4j; graphstore.errors.RunConflict: Neo4j holds the runId with other
content); the handler answers both alike. Bad input of the contract is contracts.ContractError.
"""

from __future__ import annotations


class OrchestrationError(Exception):
    """Root of the orchestration errors."""


class RunNotFound(OrchestrationError):
    """No ledger row has the runId (the run was never accepted here)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"No run has the runId {run_id!r}.")


class RunConflict(OrchestrationError):
    """The runId is already in the ledger with different content."""

    def __init__(self, run_id: str, detail: str) -> None:
        self.run_id = run_id
        super().__init__(detail)


class BatchRefused(OrchestrationError):
    """Runs given together (a JSON Lines document) of which some cannot be written, found before
    any was: none is written. `errors` lists each problem as {field, message, type}, the field
    prefixed with the run's label ("line 2: metadata.id")."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} of the runs given together cannot be written, so none "
                         f"was: {lines}{more}")


class QueueFull(OrchestrationError):
    """The intake queue is at its limit: the request was not recorded."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        self.limit, self.retry_after_s = limit, retry_after_s
        super().__init__(
            f"The orchestrator is at capacity: {limit} runs are already waiting. Nothing was "
            f"accepted; try again in about {retry_after_s} s.")


class DiffBaseMissing(OrchestrationError):
    """No run to compare with: `against` was not given and the run is not a replay."""

    field = "against"  # the query parameter the answer names

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"Run {run_id} is not a replay, so there is no run to compare it with "
                         "by default; name one with ?against=<runId>.")
