"""The wire shapes of the JSON API's answers (camelCase): the ledger, the error shape, history
(replays and diffs), analytics and retrieval; and the URLs a client follows. Request bodies are
not re-modelled here: the Pydantic contract parses them and api/schema.py describes them.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts import Costs, Ingredient, ScaledIngredient, ValidationIssue, Yield
from orchestration.models import STAGE_STATES, RunRecord, RunSource, RunStatus

from .schema import ENUMS, ContractField  # (importing it registers the contract's extensions)

AGENT_NAMES = ENUMS["AgentName"]
RUN_OUTCOMES = ENUMS["RunOutcome"]
UNITS = ENUMS["Unit"]

# --- URLs a client follows ---------------------------------------------------------------------


def run_detail_path(run_id: str) -> str:
    return reverse("orchestration-api:run-detail", kwargs={"run_id": run_id})


def run_status_path(run_id: str) -> str:
    return reverse("orchestration-api:run-status", kwargs={"run_id": run_id})


def run_page_path(run_id: str) -> str:
    """The web page of a run (orchestration/web/urls.py: /runs/<runId>/)."""
    return reverse("run-detail", kwargs={"run_id": run_id})


def run_diff_path(run_id: str) -> str:
    return reverse("orchestration-api:run-diff", kwargs={"run_id": run_id})


# --- errors (documentation of the shape api/errors.py renders) ------------------------


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text='Path of the offending field ("recipe.ingredients[3].'
        'percentage", "(root)" for the whole body) or the query parameter ("since").')
    message = serializers.CharField()
    type = serializers.CharField(help_text="Machine-readable kind of the error.")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (api/errors.py)."""

    detail = serializers.CharField(help_text="What happened and what to do, as a sentence.")
    code = serializers.CharField(help_text="Machine-readable kind of the failure.")
    errors = ErrorItemSerializer(  # type: ignore[assignment]  # a wire field named `errors`
        many=True, help_text="One entry per bad field; empty when the failure is not about a "
        "field (authentication, unknown run).")


class WriteSetCountsSerializer(serializers.Serializer):
    nodes = serializers.IntegerField()
    relationships = serializers.IntegerField()
    total = serializers.IntegerField()
    limit = serializers.IntegerField()


class WriteSetTooLargeSerializer(ErrorSerializer):
    counts = WriteSetCountsSerializer()


# --- logging in --------------------------------------------------------------------------------


class AuthTokenRequestSerializer(serializers.Serializer):
    """The JSON body of POST /api/auth/token."""

    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class AuthTokenSerializer(serializers.Serializer):
    """The answer of POST /api/auth/token."""

    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


# --- output ------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "nullable": True})
class BlankAsNullField(serializers.CharField):
    """A ledger text column whose "" means "none": rendered as null."""

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return None if value in ("", None) else str(value)


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A ledger choice column whose "" means "none" (a run that did not fail has no failed
    agent): rendered as null, described as its choice set's enum, nullable."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        super().__init__(choices, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)


class RunAcceptedSerializer(serializers.Serializer):
    """The 202 of POST /requests."""

    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    queuePosition = serializers.IntegerField(
        source="queue_position", allow_null=True, help_text="1-based place in the intake queue.")
    statusUrl = serializers.SerializerMethodField()
    runPage = serializers.SerializerMethodField()

    def get_statusUrl(self, record: RunRecord) -> str:
        return run_status_path(record.run_id)

    def get_runPage(self, record: RunRecord) -> str:
        return run_page_path(record.run_id)


class WriteSummarySerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    checksum = serializers.CharField()
    created = serializers.BooleanField()
    nodesCreated = serializers.IntegerField(source="nodes_created")
    relationshipsCreated = serializers.IntegerField(source="relationships_created")
    nodeCount = serializers.IntegerField(source="node_count")
    relationshipCount = serializers.IntegerField(source="relationship_count")
    attempts = serializers.IntegerField()
    latencyMs = serializers.FloatField(source="latency_ms")
    blobUri = serializers.CharField(source="blob_uri", allow_null=True)


class RunIngestedSerializer(serializers.Serializer):
    """The 201/200/202 of POST /runs (an orchestration.services.IngestOutcome)."""

    runId = serializers.CharField(source="run_id")
    created = serializers.BooleanField(help_text="False when the same run was already persisted.")
    persisted = serializers.BooleanField(
        help_text="False when the run is only in the outbox (Neo4j unavailable); a worker writes "
        "it later.")
    summary = WriteSummarySerializer(allow_null=True, help_text="What the Neo4j write did; null "
                                     "when the write is still to come.")


class RunSummarySerializer(serializers.Serializer):
    """One row of GET /runs: the ledger, compact."""

    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    source = serializers.ChoiceField(choices=RunSource.choices)  # type: ignore[assignment]
    failedAgent = BlankAsNullChoiceField(AGENT_NAMES, source="failed_agent")
    requestText = serializers.CharField(source="request_text")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    totalDurationMs = serializers.FloatField(source="total_duration_ms", allow_null=True)
    persistedAt = serializers.DateTimeField(source="persisted_at", allow_null=True)


class StageStatusSerializer(serializers.Serializer):
    """One stage of a run as the ledger records it (RunRecord.stages[agent]); every key is always
    there, null when the stage has not got that far (or the run came finished from elsewhere)."""

    status = serializers.ChoiceField(choices=STAGE_STATES, help_text="pending until the stage "
                                     "starts; skipped when an earlier stage failed (it never "
                                     "ran and never will).")
    sequence = serializers.IntegerField(allow_null=True, help_text="The invocation's 1-based "
                                        "place in the run; null while pending.")
    startedAt = serializers.DateTimeField(allow_null=True, help_text="When the stage started "
                                          "on a worker (null for a run posted finished).")
    durationMs = serializers.FloatField(allow_null=True, help_text="null until it finished.")
    memoryMb = serializers.FloatField(allow_null=True, help_text="tracemalloc peak of the "
                                      "stage; null when the run was not in the memory sample.")
    error = BlankAsNullField(allow_null=True, help_text="Why the stage failed; null otherwise.")


class RunLedgerStatusSerializer(serializers.Serializer):
    """GET /runs/{runId}/status: where a run stands, from the ledger (before Neo4j has it too)."""

    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    source = serializers.ChoiceField(choices=RunSource.choices)  # type: ignore[assignment]
    stages = serializers.DictField(
        source="ordered_stages", child=StageStatusSerializer(),
        help_text="Per agent (an AgentName), in pipeline order.")
    queuePosition = serializers.IntegerField(
        source="queue_position", allow_null=True,
        help_text="1-based place in the intake queue while the run waits; null once started.")
    failedAgent = BlankAsNullChoiceField(AGENT_NAMES, source="failed_agent")
    error = BlankAsNullField(help_text="The error of the failed stage, if one failed.")
    persistError = BlankAsNullField(
        source="persist_error", help_text="Why the last Neo4j write failed (it is retried) or was "
        "refused.")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    totalDurationMs = serializers.FloatField(source="total_duration_ms", allow_null=True)
    persistedAt = serializers.DateTimeField(source="persisted_at", allow_null=True)
    runPage = serializers.SerializerMethodField()

    def get_runPage(self, record: RunRecord) -> str:
        return run_page_path(record.run_id)



# --- history -----------------------------------------------------------------------------------


class RunReplayAcceptedSerializer(RunAcceptedSerializer):
    """The 202 of POST /runs/{runId}/replay: the new run, as POST /requests answers, and the
    run it replays."""

    replayOf = serializers.CharField(source="replay_of", help_text="The run re-executed.")
    diffUrl = serializers.SerializerMethodField(
        help_text="The diff of the replay against the original (404 until it is persisted).")

    def get_diffUrl(self, record: RunRecord) -> str:
        return run_diff_path(record.run_id)


class DiffSideSerializer(serializers.Serializer):
    runId = serializers.CharField()
    status = serializers.ChoiceField(choices=RUN_OUTCOMES)
    condensed = serializers.BooleanField(help_text="Condensed by retention: some artifacts are "
                                         "gone, and the sections that need them are null.")


class DiffGapSerializer(serializers.Serializer):
    section = serializers.CharField()
    reason = serializers.CharField()


# A change is {base, head} (the two runs' values), with delta = head - base for numbers. A
# section lists only the fields that differ: the optional fields below are there when they do.


class NumberChangeSerializer(serializers.Serializer):
    base = serializers.FloatField(allow_null=True)
    head = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(required=False, help_text="head - base; absent when one "
                                   "side has no value.")


class TextChangeSerializer(serializers.Serializer):
    base = serializers.CharField(allow_null=True)
    head = serializers.CharField(allow_null=True)


class BoolChangeSerializer(serializers.Serializer):
    base = serializers.BooleanField(allow_null=True)
    head = serializers.BooleanField(allow_null=True)


class UnitChangeSerializer(serializers.Serializer):
    base = serializers.ChoiceField(choices=UNITS, allow_null=True)
    head = serializers.ChoiceField(choices=UNITS, allow_null=True)


class RunOutcomeChangeSerializer(serializers.Serializer):
    base = serializers.ChoiceField(choices=RUN_OUTCOMES)
    head = serializers.ChoiceField(choices=RUN_OUTCOMES)


class AgentNameChangeSerializer(serializers.Serializer):
    base = serializers.ChoiceField(choices=AGENT_NAMES, allow_null=True)
    head = serializers.ChoiceField(choices=AGENT_NAMES, allow_null=True)


class ValueChangeSerializer(serializers.Serializer):
    base = serializers.JSONField(allow_null=True, help_text="Any JSON value.")
    head = serializers.JSONField(allow_null=True, help_text="Any JSON value.")


class DiffOutcomeSerializer(serializers.Serializer):
    status = RunOutcomeChangeSerializer(required=False)
    failedAgent = AgentNameChangeSerializer(required=False)


class DiffIngredientSerializer(serializers.Serializer):
    """An ingredient one run has and the other has not."""

    id = serializers.CharField()
    name = serializers.CharField()
    percentage = serializers.FloatField()


class DiffIngredientChangeSerializer(serializers.Serializer):
    """An ingredient both runs have, with the fields that differ."""

    id = serializers.CharField()
    name = serializers.CharField(help_text="Its name in the head run.")
    percentage = NumberChangeSerializer(required=False)
    renamed = TextChangeSerializer(required=False, help_text="The name, when it differs.")
    function = TextChangeSerializer(required=False)
    category = TextChangeSerializer(required=False)


class DiffIngredientsSerializer(serializers.Serializer):
    added = DiffIngredientSerializer(many=True)
    removed = DiffIngredientSerializer(many=True)
    changed = DiffIngredientChangeSerializer(many=True)


class DiffYieldSerializer(serializers.Serializer):
    quantity = NumberChangeSerializer(required=False)
    unit = UnitChangeSerializer(required=False)
    lossPercentage = NumberChangeSerializer(required=False)


class DiffScaledChangeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The ingredient id.")
    name = serializers.CharField()
    scaledQuantity = NumberChangeSerializer(required=False)
    scaledUnit = UnitChangeSerializer(required=False)


class DiffQuantitiesSerializer(serializers.Serializer):
    targetBatchSize = NumberChangeSerializer(required=False)
    targetUnit = UnitChangeSerializer(required=False)
    yield_ = DiffYieldSerializer(required=False)
    changed = DiffScaledChangeSerializer(many=True)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["yield"] = fields.pop("yield_")  # a Python keyword on the wire
        return fields


class DiffIngredientCostSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The ingredient id.")
    base = serializers.FloatField(allow_null=True, help_text="null: no cost in that run.")
    head = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(required=False)


class DiffMissingCostsSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField(), help_text="Ingredient ids "
                                 "without a cost in the head run only.")
    removed = serializers.ListField(child=serializers.CharField(), help_text="Ingredient ids "
                                   "without a cost in the base run only.")


class DiffCostsSerializer(serializers.Serializer):
    currency = TextChangeSerializer(required=False)
    total = NumberChangeSerializer(required=False)
    perUnit = NumberChangeSerializer(required=False)
    byIngredient = DiffIngredientCostSerializer(many=True)
    missing = DiffMissingCostsSerializer()


class DiffValidationSerializer(serializers.Serializer):
    valid = BoolChangeSerializer(required=False)
    canProceed = BoolChangeSerializer(required=False)
    errorCount = NumberChangeSerializer(required=False)
    warningCount = NumberChangeSerializer(required=False)
    criticalCount = NumberChangeSerializer(required=False)


class DiffRequestSerializer(serializers.Serializer):
    userRequest = TextChangeSerializer(required=False)
    targetBatchSize = NumberChangeSerializer(required=False)
    targetUnit = UnitChangeSerializer(required=False)
    costMap = serializers.DictField(child=NumberChangeSerializer(), required=False,
                                    help_text="Per ingredient id.")
    densityMap = serializers.DictField(child=NumberChangeSerializer(), required=False,
                                       help_text="Per ingredient id.")


class DiffContextSerializer(serializers.Serializer):
    request = DiffRequestSerializer()
    agents = serializers.DictField(child=ValueChangeSerializer(), help_text="Per stage whose "
                                   "configured agent differs (configSnapshot.agents).")


class RunDiffSerializer(serializers.Serializer):
    """The compact diff of orchestration/diff.py: inside each section only what differs, as
    {base, head, delta}; a section is null when one run lacks the artifact."""

    base = DiffSideSerializer(help_text="The run compared against (the original).")
    head = DiffSideSerializer(help_text="The run compared (the replay).")
    identical = serializers.BooleanField(help_text="Every section compared and nothing differs.")
    changeCount = serializers.IntegerField()
    outcome = DiffOutcomeSerializer(help_text="status / failedAgent, when they differ.")
    ingredients = DiffIngredientsSerializer(allow_null=True)
    quantities = DiffQuantitiesSerializer(allow_null=True)
    costs = DiffCostsSerializer(allow_null=True)
    validation = DiffValidationSerializer(allow_null=True)
    unavailable = DiffGapSerializer(many=True)
    context = DiffContextSerializer(  # type: ignore[assignment]  # a wire field named `context`
        help_text="request and agents that differ: why the artifacts may differ; not counted "
        "as changes.")



# --- analytics and retrieval ---------------------------------------------------------------------


class AnalyticsWindowSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()


class AnalyticsRunTotalsSerializer(serializers.Serializer):
    runs = serializers.IntegerField(help_text="Committed runs that started in the window.")
    failed = serializers.IntegerField()
    failureRate = serializers.FloatField(source="failure_rate", allow_null=True,
                                         help_text="failed / runs; null without runs.")
    breached = serializers.IntegerField(help_text="Runs with at least one budget breach.")
    p50Ms = serializers.FloatField(source="p50", allow_null=True,
                                   help_text="Median total duration (nearest rank).")
    p95Ms = serializers.FloatField(source="p95", allow_null=True)


class AnalyticsAgentSerializer(serializers.Serializer):
    agent = serializers.ChoiceField(choices=AGENT_NAMES)
    invocations = serializers.IntegerField(help_text="Invocations that ran (skipped ones are "
                                           "not counted).")
    runs = serializers.IntegerField()
    failures = serializers.IntegerField()
    failureRate = serializers.FloatField(source="failure_rate", help_text="failures / "
                                         "invocations.")
    p50Ms = serializers.FloatField(source="p50", help_text="Median duration (nearest rank: an "
                                   "observed duration).")
    p95Ms = serializers.FloatField(source="p95")
    meanMs = serializers.FloatField(source="mean")
    maxMs = serializers.FloatField(source="max")


class AnalyticsAgentReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    totals = AnalyticsRunTotalsSerializer()
    agents = AnalyticsAgentSerializer(many=True)


class AnalyticsBreachSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text='An agent, or "run" for the whole run.')
    kind = serializers.ChoiceField(choices=ENUMS["BudgetKind"], allow_null=True)
    breaches = serializers.IntegerField()
    runs = serializers.IntegerField()


class AnalyticsBreachDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="UTC calendar day.")
    breaches = serializers.IntegerField()
    runs = serializers.IntegerField()


class AnalyticsBreachReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    totals = AnalyticsRunTotalsSerializer()
    breaches = AnalyticsBreachSerializer(many=True)
    byDay = AnalyticsBreachDaySerializer(source="by_day", many=True)


class AnalyticsIngredientSerializer(serializers.Serializer):
    ingredientId = serializers.CharField(source="ingredient_id")
    name = serializers.CharField()
    runs = serializers.IntegerField(help_text="Runs whose recipe has the ingredient.")
    recipes = serializers.IntegerField(help_text="Distinct recipe ids among them.")
    avgPercentage = serializers.FloatField(source="avg_percentage")


class AnalyticsIngredientReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    totals = AnalyticsRunTotalsSerializer()
    ingredients = AnalyticsIngredientSerializer(many=True)


class AnalyticsCostPointSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="UTC calendar day.")
    runs = serializers.IntegerField()
    avgCost = serializers.FloatField(source="avg_cost")
    minCost = serializers.FloatField(source="min_cost")
    maxCost = serializers.FloatField(source="max_cost")
    totalCost = serializers.FloatField(source="total_cost")


class AnalyticsCostSeriesSerializer(serializers.Serializer):
    recipeId = serializers.CharField(source="recipe_id")
    name = serializers.CharField()
    currency = serializers.CharField()
    runs = serializers.IntegerField()
    points = AnalyticsCostPointSerializer(many=True)


class AnalyticsCostReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    recipe = serializers.CharField(allow_null=True)
    series = AnalyticsCostSeriesSerializer(many=True)


class AnalyticsIssueSerializer(serializers.Serializer):
    agent = serializers.CharField(help_text="ValidationIssue.agent (free text in the contract).")
    field = serializers.CharField(help_text="Field path, array indices folded to [*].")
    severity = serializers.ChoiceField(choices=ENUMS["Severity"])
    occurrences = serializers.IntegerField()
    runs = serializers.IntegerField()


class AnalyticsValidationReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    kind = serializers.ChoiceField(choices=ENUMS["ValidationIssueKind"])
    validated = serializers.IntegerField(help_text="Runs in the window with a validation report.")
    withIssues = serializers.IntegerField(source="with_issues")
    detailsRemoved = serializers.IntegerField(
        source="details_removed", help_text="Runs with issues whose texts retention removed "
        "(condensed runs); they are not in `issues`.")
    issues = AnalyticsIssueSerializer(many=True)


class RetrievalMatchSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='"request", "recipe" or "ingredient".')
    text = serializers.CharField()
    score = serializers.FloatField()


class RetrievalRunSerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    score = serializers.FloatField()
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    request = serializers.CharField(allow_null=True)
    recipeId = serializers.CharField(source="recipe_id", allow_null=True)
    recipe = serializers.CharField(allow_null=True)
    matchedFields = serializers.ListField(source="matched_fields", child=serializers.CharField())
    matches = RetrievalMatchSerializer(many=True)


class RetrievalResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    terms = serializers.ListField(child=serializers.CharField(),
                                  help_text="The words searched for.")
    results = RetrievalRunSerializer(many=True)


class ContextRequestSerializer(serializers.Serializer):
    text = serializers.CharField()
    targetBatchSize = serializers.FloatField()
    targetUnit = serializers.ChoiceField(choices=UNITS)


class ContextRecipeSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    totalPercentage = serializers.FloatField()
    ingredients = serializers.ListField(child=ContractField(Ingredient))


class ContextCalculationSerializer(serializers.Serializer):
    batch = serializers.FloatField()
    unit = serializers.ChoiceField(choices=UNITS)
    costs = ContractField(Costs, help_text="calculation.costs of the v1 contract.")
    yield_ = ContractField(Yield, help_text="calculation.yield of the v1 contract.")
    scaled = serializers.ListField(child=ContractField(ScaledIngredient),
                                   help_text="calculation.scaledIngredients of the v1 contract.")
    warnings = serializers.ListField(child=serializers.CharField())

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["yield"] = fields.pop("yield_")  # a Python keyword on the wire
        return fields


class ContextValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    canProceed = serializers.BooleanField()
    summary = serializers.CharField()
    errorCount = serializers.IntegerField()
    warningCount = serializers.IntegerField()
    errors = serializers.ListField(  # type: ignore[assignment]  # a wire field named `errors`
        child=ContractField(ValidationIssue), allow_null=True, help_text="Errors (critical "
        "ones included); null when retention removed them (condensed run).")
    warnings = serializers.ListField(child=ContractField(ValidationIssue), allow_null=True)


class ContextFactSerializer(serializers.Serializer):
    ref = serializers.CharField(help_text='The node the fact came from, "Label:key" '
                                '(e.g. "Ingredient:ing-olive-oil").')
    text = serializers.CharField()


class ContextPromptSerializer(serializers.Serializer):
    maxChars = serializers.IntegerField(help_text="The budget asked for (max_chars).")
    chars = serializers.IntegerField(help_text="The length of `text`, never above maxChars.")
    truncated = serializers.BooleanField(help_text="Some facts did not fit the budget.")
    omittedFacts = serializers.IntegerField()
    neighbours = serializers.ListField(child=serializers.CharField(),
                                       help_text="The runIds of the nearest runs included.")
    text = serializers.CharField(help_text="One fact per line, each ending with [Label:key].")
    facts = ContextFactSerializer(many=True)


class RunContextSerializer(serializers.Serializer):
    """Documents GET runs/{runId}/context (the body is built by graphstore.retrieval)."""

    runId = serializers.CharField()
    status = serializers.ChoiceField(choices=RUN_OUTCOMES)
    startedAt = serializers.DateTimeField(allow_null=True)
    failedAgent = serializers.ChoiceField(choices=AGENT_NAMES, allow_null=True)
    condensed = serializers.BooleanField(help_text="Retention condensed the run; the parts it "
                                         "removed are null.")
    condensedRemoved = serializers.ListField(child=serializers.CharField())
    request = ContextRequestSerializer(allow_null=True)
    recipe = ContextRecipeSerializer(allow_null=True, help_text="Null when the run failed "
                                     "before RecipeEngineer finished.")
    calculation = ContextCalculationSerializer(allow_null=True)
    validation = ContextValidationSerializer(allow_null=True)
    prompt = ContextPromptSerializer(help_text="The run and its nearest runs as cited fact "
                                     "lines within max_chars, ready for a prompt.")


# --- retrieval by composition, vectors and their fusion (issue 14) ----------------------------


class FormulaLineSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Ingredient id.")
    name = serializers.CharField()
    percentage = serializers.FloatField()
    function = serializers.CharField(allow_null=True)
    category = serializers.CharField(allow_null=True)


class SharedIngredientSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    queryPercentage = serializers.FloatField(source="query_percentage",
                                             help_text="In the query run's recipe.")
    hitPercentage = serializers.FloatField(source="hit_percentage",
                                           help_text="In this hit's recipe.")


class SubstituteSerializer(serializers.Serializer):
    role = serializers.CharField(help_text='"function: emulsifier" or "category: oil".')
    query = FormulaLineSerializer(help_text="Only in the query run's recipe.")
    hit = FormulaLineSerializer(help_text="Only in this hit's recipe, in the same role.")


class HitReasonsSerializer(serializers.Serializer):
    summary = serializers.CharField(help_text="One line: shared mass, substitutes, what the "
                                    "hit adds and lacks.")  # Reasons.summary() (DRF calls it)
    sharedPercentage = serializers.FloatField(
        source="shared_percentage", help_text="Sum over shared ingredients of the smaller "
        "percentage: the mass the two recipes have in common.")
    shared = SharedIngredientSerializer(many=True)
    substitutes = SubstituteSerializer(many=True)
    onlyInQuery = FormulaLineSerializer(source="only_in_query", many=True)
    onlyInHit = FormulaLineSerializer(source="only_in_hit", many=True)


class CompositionScoreSerializer(serializers.Serializer):
    shared = serializers.FloatField(help_text="Shared mass, 0 to 100.")
    function = serializers.FloatField(help_text="Mass in common by function, 0 to 100.")
    category = serializers.FloatField(help_text="Mass in common by category, 0 to 100.")
    scale = serializers.FloatField(help_text="Batch size similarity, 0 to 1.")
    cost = serializers.FloatField(help_text="Cost per unit similarity, 0 to 1.")
    total = serializers.FloatField()


class SignalRankSerializer(serializers.Serializer):
    signal = serializers.CharField(help_text='"composition", "vector" or "fulltext".')
    rank = serializers.IntegerField(help_text="1-based rank in that signal's own ranking.")
    score = serializers.FloatField(help_text="That signal's own score.")


class MentionFoundSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The words of the query that named it.")
    mass = serializers.FloatField(help_text="Percentage of the recipe that matches it.")
    wanted = serializers.FloatField(allow_null=True, help_text="The percentage asked for.")


class RunHitSerializer(serializers.Serializer):
    runId = serializers.CharField(source="card.run_id")
    score = serializers.FloatField(help_text="Fused score (reciprocal rank over the signals).")
    status = serializers.CharField(source="card.status", allow_null=True)
    startedAt = serializers.DateTimeField(source="card.started_at", allow_null=True)
    request = serializers.CharField(source="card.request", allow_null=True)
    recipeId = serializers.CharField(source="card.recipe_id", allow_null=True)
    recipe = serializers.CharField(source="card.recipe", allow_null=True)
    batch = serializers.FloatField(source="card.batch", allow_null=True)
    unit = serializers.CharField(source="card.unit", allow_null=True)
    cost = serializers.FloatField(source="card.cost", allow_null=True)
    currency = serializers.CharField(source="card.currency", allow_null=True)
    signals = SignalRankSerializer(many=True)
    identicalRuns = serializers.ListField(
        source="identical", child=serializers.CharField(),
        help_text="Runs with the same recipe content, batch and unit, folded into this hit.")
    reasons = HitReasonsSerializer(allow_null=True, help_text="Against the query run (null "
                                   "for a text search).")
    composition = CompositionScoreSerializer(allow_null=True)
    matched = MentionFoundSerializer(source="mentions_found", many=True,
                                     help_text="Text search: what the recipe has of each "
                                     "ingredient, function or category the words name.")


class RunsLikeResultSerializer(serializers.Serializer):
    runId = serializers.CharField(help_text="The query run.")
    results = RunHitSerializer(many=True)


class MentionSerializer(serializers.Serializer):
    text = serializers.CharField()
    percentage = serializers.FloatField(allow_null=True)
    ingredientIds = serializers.ListField(source="ingredient_ids", child=serializers.CharField())
    functions = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())


class RunSearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    terms = serializers.ListField(child=serializers.CharField(),
                                  help_text="The words searched for in full text.")
    mentions = MentionSerializer(many=True, help_text="Ingredients, functions and categories "
                                 "the words name, with the percentage given next to them.")
    results = RunHitSerializer(many=True)
