"""Reads of the orchestration app: the run ledger (lists, one run) and runs replayed from Neo4j.

Functions take keyword-only, typed arguments and return models or contract objects; the DRF APIs,
the web views and the admin call them and stay thin. Bad input raises; nothing is swallowed.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from contracts import RunResult
from graphstore.connection import database, get_blob_store, get_driver
from graphstore.replay import load_run

from .errors import RunNotKnown
from .models import RunRecord


def run_list(*, status: str | None = None, since: datetime | None = None,
             until: datetime | None = None, failed_agent: str | None = None,
             text: str | None = None) -> QuerySet[RunRecord]:
    """Ledger rows, newest first. `since` is inclusive and `until` exclusive (both on createdAt);
    `text` matches the runId or the request text, case-insensitively."""
    runs = RunRecord.objects.all()
    if status:
        runs = runs.filter(status=status)
    if since is not None:
        runs = runs.filter(created_at__gte=since)
    if until is not None:
        runs = runs.filter(created_at__lt=until)
    if failed_agent:
        runs = runs.filter(failed_agent=failed_agent)
    if text:
        runs = runs.filter(Q(run_id__icontains=text) | Q(request_text__icontains=text))
    return runs.order_by("-created_at", "-id")


def run_get(*, run_id: str) -> RunRecord:
    """The ledger row of `run_id`; RunNotKnown when there is none. Works before the run is in
    Neo4j (the web run page polls it while the stages run)."""
    try:
        return RunRecord.objects.get(run_id=run_id)
    except RunRecord.DoesNotExist as exc:
        raise RunNotKnown(run_id) from exc


def run_replay(*, run_id: str) -> RunResult:
    """The committed run read back from Neo4j (and the blob store) into the v1 contract.
    graphstore.errors.RunNotFound when no run is committed under `run_id`."""
    return load_run(run_id, driver=get_driver(), database=database(),
                    blob_store=get_blob_store())
