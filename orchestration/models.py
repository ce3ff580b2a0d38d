"""Django's side of a run: the run ledger (one row per submitted request and its run, which is
also the outbox the Neo4j write is made from) and the retention settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from contracts import STAGE_ORDER


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PERSISTING = "persisting", "Persisting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


# Where one stage of a run stands in the ledger (RunRecord.stages[agent]["status"]): pending
# until it starts (and for good after a stage failed before it), running, then what its
# invocation ended as (contracts' InvocationStatus).
STAGE_STATES = ("pending", "running", "succeeded", "failed", "skipped")


class RunSource(models.TextChoices):
    PIPELINE = "pipeline", "Submitted here (Celery pipeline)"
    EXTERNAL = "external", "Posted by an external orchestrator"


# The permission that lets a user read every run, not only their own (orchestration/selectors.py
# applies it; the "auditors" group, created by migration 0007, holds it; superusers have every
# permission).
VIEW_ALL_RUNS = "orchestration.view_all_runs"
AUDITORS_GROUP = "auditors"


def owner_key(user_pk: Any) -> str | None:
    """The owner id a run carries outside Django (OrchestrationRun.ownerId in Neo4j, see
    graphstore/scope.py): the submitting user's primary key as text; None for no owner."""
    return None if user_pk is None else str(user_pk)


class RunRecord(models.Model):
    """The ledger row of one run, updated as the run progresses.

    `result` holds the finished RunResult (succeeded or failed) and is committed before the Neo4j
    write is attempted; `persisted_at` is set once the write committed. `submitted_by` is the
    run's owner: the user who submitted it (form, API, or a replay) or posted it (an external
    RunResult); none for a run entered from the shell without --owner, which only users with
    VIEW_ALL_RUNS see.
    """

    run_id = models.CharField(max_length=128, unique=True)
    source = models.CharField(max_length=16, choices=RunSource.choices,
                              default=RunSource.PIPELINE)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="runs")
    request_text = models.TextField()
    request = models.JSONField(help_text="The input contract, as submitted (camelCase).")
    status = models.CharField(max_length=16, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    stages = models.JSONField(default=dict, blank=True,
                              help_text="Per agent: status, sequence, durationMs, error.")
    queue_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="1-based place in the queue while the run waits.")
    failed_agent = models.CharField(max_length=32, blank=True, default="", db_index=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_duration_ms = models.FloatField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True,
                              help_text="The finished RunResult (the outbox of the Neo4j write).")
    checksum = models.CharField(max_length=64, blank=True, default="")
    persisted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    persist_attempts = models.PositiveIntegerField(default=0)
    persist_next_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="Not persisted yet: when the outbox reconciler may try the write again.")
    persist_error = models.TextField(blank=True, default="")
    write_summary = models.JSONField(null=True, blank=True)
    segments = models.JSONField(
        default=dict, blank=True,
        help_text="Where the run's time went, in ms: queue, stage:<Agent>, handoff:<Agent>, "
        "outbox, writeQueue, write (and its mapping, blob, database parts), ledger, endToEnd "
        "(orchestration/segments.py). Filled in when the write commits.")
    replay_of = models.CharField(
        max_length=128, blank=True, default="", db_index=True,
        help_text="The runId this run re-executes (a replay), or blank.")
    condensed_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention condensed the run: `result` then holds "
        "its summary, without the artifacts removed from Neo4j.")
    # The run history's columns (orchestration/history.py, ledger_columns): the batch from the
    # request at intake, the rest from the RunResult when the run finishes, so that the history
    # filters and sorts on columns and never reads the bulky `result`.
    batch_size = models.FloatField(null=True, blank=True)
    batch_unit = models.CharField(max_length=16, blank=True, default="")
    batch_kg = models.FloatField(null=True, blank=True,
                                 help_text="The batch in kg (litres for a volume): a sort key.")
    product = models.CharField(max_length=200, blank=True, default="", db_index=True,
                               help_text="The recipe's name, once the RecipeEngineer ran.")
    recipe_id = models.CharField(max_length=128, blank=True, default="")
    cost_total = models.FloatField(null=True, blank=True)
    cost_currency = models.CharField(max_length=3, blank=True, default="")
    cost_per_kg = models.FloatField(null=True, blank=True,
                                    help_text="Total cost per kg of batch (batches by mass).")
    qa_valid = models.BooleanField(null=True, blank=True,
                                   help_text="The QA verdict; empty when it did not run.")
    budget_breached = models.BooleanField(default=False, db_index=True,
                                          help_text="A stage or the write breached its budget.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"]),
                   # a user's own runs, newest first (orchestration/selectors.py, runs_visible)
                   models.Index(fields=["submitted_by", "created_at"]),
                   # the rows retention's ledger side looks for: not condensed yet, started
                   # before the cutoff (orchestration/services/retention.py, _ledger_rows);
                   # without it each pass reads the whole table
                   models.Index(fields=["started_at"], condition=Q(condensed_at__isnull=True),
                                name="runrecord_full_started_idx")]
        permissions = [("view_all_runs", "Can see every user's runs (not only their own)")]
        verbose_name = "run"

    def __str__(self) -> str:
        return f"{self.run_id} ({self.status})"

    @property
    def ordered_stages(self) -> dict[str, Any]:
        """`stages` in pipeline order (PostgreSQL's jsonb does not keep the order of keys); in a
        failed run, a stage still "pending" says "skipped": it never ran and never will."""
        order = STAGE_ORDER
        stages = dict(sorted(self.stages.items(), key=lambda kv: order.get(kv[0], len(order))))
        if self.status == RunStatus.FAILED:  # the stages after the failure never ran
            stages = {name: {**info, "status": "skipped"}
                      if (info or {}).get("status", "pending") == "pending" else info
                      for name, info in stages.items()}
        return stages

    @property
    def is_finished(self) -> bool:
        return self.status in {RunStatus.SUCCEEDED, RunStatus.FAILED} and self.result is not None


class RetentionSettings(models.Model):
    """Singleton (pk=1): how long runs are kept in full before they are condensed."""

    full_retention_days = models.PositiveIntegerField(
        default=30, help_text="Runs older than this are condensed to their metadata (design §6).")
    condense_enabled = models.BooleanField(
        default=True, help_text="Switch the periodic condensation job on or off.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention settings"
        verbose_name_plural = "retention settings"

    def __str__(self) -> str:
        return f"Keep runs in full for {self.full_retention_days} days"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def load(cls) -> RetentionSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


# The key of the rollup rows over every run (AnalyticsRollup.owner); an owner's rows carry the
# owner id (owner_key), which is never empty.
EVERY_OWNER = ""


class AnalyticsDay(models.Model):
    """A closed UTC day as the analytics rollups know it (orchestration/services/rollups.py).

    `generation` moves whenever something changes the day's runs after the day closed (a late
    write, a retention pass); the rollup rows of the day are served only while they carry the
    day's current generation, so a rollup read before a change is never served after it."""

    day = models.DateField(primary_key=True)
    generation = models.PositiveIntegerField(default=0)
    rolled_generation = models.PositiveIntegerField(
        null=True, blank=True, help_text="The generation the day's rollup rows were read at.")
    rolled_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0, help_text="Committed runs of the day, rolled.")

    class Meta:
        verbose_name = "analytics day"

    def __str__(self) -> str:
        fresh = self.rolled_generation == self.generation
        return f"{self.day} ({'rolled up' if fresh else 'not rolled up'})"


class AnalyticsRollup(models.Model):
    """The analytics figures of one closed UTC day, for one owner (`owner`: the runs' ownerId)
    or for every run (`owner` = EVERY_OWNER): one JSON value per section, in graphstore/rollup.py's
    form. Valid while `generation` equals its AnalyticsDay's."""

    day = models.ForeignKey(AnalyticsDay, on_delete=models.CASCADE, related_name="rollups",
                            db_column="day")
    owner = models.CharField(max_length=128, blank=True, default=EVERY_OWNER)
    generation = models.PositiveIntegerField()
    totals = models.JSONField(default=dict)
    agents = models.JSONField(default=dict)
    breaches = models.JSONField(default=list)
    ingredients = models.JSONField(default=list)
    costs = models.JSONField(default=list)
    validation = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "day"],
                                               name="analytics_rollup_owner_day")]
        verbose_name = "analytics rollup"

    def __str__(self) -> str:
        return f"{self.day_id} {self.owner or 'every run'}"
