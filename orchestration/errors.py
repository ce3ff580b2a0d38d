"""Errors of the orchestration app, mapped to HTTP statuses in one place (orchestration/apis.py).

    OrchestrationError
    ├── RunNotKnown           no run with that runId (404)
    └── RunIdConflict         the runId exists with different content (409)
    (contract errors: contracts.ContractError (400);
     graph store errors: graphstore.errors)
"""

from __future__ import annotations


class OrchestrationError(Exception):
    """Root of the orchestration errors."""


class RunNotKnown(OrchestrationError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"No run has the runId {run_id!r}.")


class RunIdConflict(OrchestrationError):
    def __init__(self, run_id: str, detail: str) -> None:
        self.run_id = run_id
        super().__init__(detail)
