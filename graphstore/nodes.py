"""neomodel OGM classes that mirror the labels and relationships of graphstore/schema.py.

They serve reading and browsing (django-neomodel's admin, ad-hoc queries) and the naive baseline of
the benchmark. Runs are WRITTEN by graphstore/writer.py in one transaction of fixed UNWIND
statements, never through these classes. Nested artifact parts are JSON text. A label's
properties are defined by its codec (graphstore/codecs/); unit tests check that these classes
declare exactly the codecs' properties, with matching types, and agree with schema.py.
"""

from __future__ import annotations

from neomodel import (
    ArrayProperty,
    BooleanProperty,
    DateTimeNeo4jFormatProperty,
    FloatProperty,
    IntegerProperty,
    RelationshipFrom,
    RelationshipTo,
    StringProperty,
    StructuredNode,
    StructuredRel,
    ZeroOrOne,
)


class _Written(StructuredNode):
    """Properties every merged node carries (set by the writer)."""

    __abstract_node__ = True
    createdAt = DateTimeNeo4jFormatProperty()  # noqa: N815 (the graph's property names are camelCase)
    writeCount = IntegerProperty(default=1)  # noqa: N815


class IngredientUse(StructuredRel):
    """(RecipeVersion)-[:HAS_INGREDIENT {percentage, function, category}]->(Ingredient)."""

    position = IntegerProperty(required=True)
    name = StringProperty(required=True)
    percentage = FloatProperty(required=True)
    function = StringProperty()
    category = StringProperty()


class InvocationOrder(StructuredRel):
    sequence = IntegerProperty(required=True)


class RequestTrigger(StructuredRel):
    runId = StringProperty()  # noqa: N815


class Ingredient(_Written):
    ingredientId = StringProperty(unique_index=True, required=True)  # noqa: N815
    name = StringProperty(required=True)
    recipes = RelationshipFrom("RecipeVersion", "HAS_INGREDIENT", model=IngredientUse)


class RecipeVersion(_Written):
    checksum = StringProperty(unique_index=True, required=True)
    recipeId = StringProperty(required=True)  # noqa: N815
    name = StringProperty(required=True)
    totalPercentage = FloatProperty()  # noqa: N815
    ingredientCount = IntegerProperty()  # noqa: N815
    metadata = StringProperty()
    ingredients = RelationshipTo(Ingredient, "HAS_INGREDIENT", model=IngredientUse)


class UserRequest(_Written):
    checksum = StringProperty(unique_index=True, required=True)
    userRequest = StringProperty(required=True)  # noqa: N815
    targetBatchSize = FloatProperty()  # noqa: N815
    targetUnit = StringProperty()  # noqa: N815
    context = StringProperty()
    config = StringProperty()
    runs = RelationshipTo("OrchestrationRun", "TRIGGERED", model=RequestTrigger)


class CalculationResult(_Written):
    runId = StringProperty(unique_index=True, required=True)  # noqa: N815
    checksum = StringProperty()
    recipeId = StringProperty()  # noqa: N815
    targetBatchSize = FloatProperty()  # noqa: N815
    targetUnit = StringProperty()  # noqa: N815
    totalCost = FloatProperty()  # noqa: N815
    currency = StringProperty()
    timestamp = StringProperty()
    scaledIngredients = StringProperty()  # noqa: N815
    costs = StringProperty()
    # "yield" is a Python keyword: the graph property is named yield, the attribute yield_.
    yield_ = StringProperty(db_property="yield")
    warnings = StringProperty()


class GraphSnapshot(_Written):
    runId = StringProperty(unique_index=True, required=True)  # noqa: N815
    checksum = StringProperty(index=True)
    nodeCount = IntegerProperty()  # noqa: N815
    edgeCount = IntegerProperty()  # noqa: N815
    # "nodes" would hide neomodel's `GraphSnapshot.nodes` query helper: the attribute is renamed.
    nodes_json = StringProperty(db_property="nodes")
    edges = StringProperty()
    metadata = StringProperty()
    cypherCommandCount = IntegerProperty()  # noqa: N815
    cypherCommandsSize = IntegerProperty()  # noqa: N815
    cypherCommands = StringProperty()  # noqa: N815 (inline when at most 32,768 bytes)
    blobUri = StringProperty()  # noqa: N815 (otherwise in the blob store)
    blobSha256 = StringProperty()  # noqa: N815
    blobSize = IntegerProperty()  # noqa: N815


class ValidationReport(_Written):
    runId = StringProperty(unique_index=True, required=True)  # noqa: N815
    checksum = StringProperty()
    valid = BooleanProperty()
    canProceed = BooleanProperty()  # noqa: N815
    summary = StringProperty()
    timestamp = StringProperty()
    errorCount = IntegerProperty()  # noqa: N815
    warningCount = IntegerProperty()  # noqa: N815
    criticalCount = IntegerProperty()  # noqa: N815
    errors = StringProperty()
    warnings = StringProperty()
    criticalErrors = StringProperty()  # noqa: N815
    checks = StringProperty()
    # The issues' agents, fields and severities, parallel lists that analytics reads directly.
    errorAgents = ArrayProperty(StringProperty())  # noqa: N815
    errorFields = ArrayProperty(StringProperty())  # noqa: N815
    errorSeverities = ArrayProperty(StringProperty())  # noqa: N815
    warningAgents = ArrayProperty(StringProperty())  # noqa: N815
    warningFields = ArrayProperty(StringProperty())  # noqa: N815
    warningSeverities = ArrayProperty(StringProperty())  # noqa: N815


class UIConfig(_Written):
    runId = StringProperty(unique_index=True, required=True)  # noqa: N815
    checksum = StringProperty()
    componentCount = IntegerProperty()  # noqa: N815
    layout = StringProperty()
    components = StringProperty()
    theme = StringProperty()


class AgentInvocation(_Written):
    invocationId = StringProperty(unique_index=True, required=True)  # noqa: N815
    runId = StringProperty(required=True)  # noqa: N815
    sequence = IntegerProperty(required=True)
    agent = StringProperty(required=True)
    timestamp = StringProperty()
    duration = FloatProperty()
    status = StringProperty()
    error = StringProperty()
    outputRef = StringProperty()  # noqa: N815
    memoryMb = FloatProperty()  # noqa: N815
    rssMb = FloatProperty()  # noqa: N815
    budgetDurationMs = FloatProperty()  # noqa: N815
    budgetMemoryMb = FloatProperty()  # noqa: N815
    budgetBreaches = ArrayProperty(StringProperty())  # noqa: N815
    budgetBreached = BooleanProperty(default=False)  # noqa: N815
    # Only with CAP01_STORE_TRANSCRIPTS on (opt-in), redacted:
    transcriptPrompt = StringProperty()  # noqa: N815
    transcriptResponse = StringProperty()  # noqa: N815
    transcriptRedacted = BooleanProperty()  # noqa: N815


class OrchestrationRun(_Written):
    runId = StringProperty(unique_index=True, required=True)  # noqa: N815
    status = StringProperty(required=True, index=True)
    totalDuration = FloatProperty()  # noqa: N815
    timestamp = StringProperty()
    startedAt = DateTimeNeo4jFormatProperty(index=True)  # noqa: N815
    configSnapshot = StringProperty()  # noqa: N815
    configSnapshotTruncated = BooleanProperty(default=False)  # noqa: N815
    failedAgent = StringProperty()  # noqa: N815
    replayOf = StringProperty()  # noqa: N815
    peakRssMb = FloatProperty()  # noqa: N815
    budgetBreaches = ArrayProperty(StringProperty())  # noqa: N815
    budgetBreached = BooleanProperty(default=False)  # noqa: N815
    segments = StringProperty()  # metadata.segments as JSON (orchestration/segments.py)
    checksum = StringProperty()
    schemaVersion = StringProperty()  # noqa: N815
    contractVersion = StringProperty()  # noqa: N815
    # The commit marker, written in the same transaction as the run.
    commitChecksum = StringProperty()  # noqa: N815
    commitSchemaVersion = StringProperty()  # noqa: N815
    commitNodeCount = IntegerProperty()  # noqa: N815
    commitRelationshipCount = IntegerProperty()  # noqa: N815
    committedAt = DateTimeNeo4jFormatProperty()  # noqa: N815
    ownerId = StringProperty()  # noqa: N815  # the owner's opaque id (graphstore/scope.py)
    # startedAt while retention has work on the run (graphstore/retention.py)
    retentionStartedAt = DateTimeNeo4jFormatProperty(index=True)  # noqa: N815
    # Set when retention condenses the run (graphstore/retention.py).
    condensed = BooleanProperty()
    condensedAt = DateTimeNeo4jFormatProperty()  # noqa: N815
    condensedRemoved = ArrayProperty(StringProperty())  # noqa: N815
    condensedRetains = BooleanProperty()  # noqa: N815
    condensedNodeCount = IntegerProperty()  # noqa: N815
    condensedRelationshipCount = IntegerProperty()  # noqa: N815

    request = RelationshipFrom(UserRequest, "TRIGGERED", model=RequestTrigger,
                               cardinality=ZeroOrOne)
    recipe = RelationshipTo(RecipeVersion, "USED_RECIPE", cardinality=ZeroOrOne)
    calculation = RelationshipTo(CalculationResult, "PRODUCED_CALCULATION", cardinality=ZeroOrOne)
    graph = RelationshipTo(GraphSnapshot, "PRODUCED_GRAPH", cardinality=ZeroOrOne)
    validation = RelationshipTo(ValidationReport, "PRODUCED_VALIDATION", cardinality=ZeroOrOne)
    ui_config = RelationshipTo(UIConfig, "PRODUCED_UI", cardinality=ZeroOrOne)
    invocations = RelationshipTo(AgentInvocation, "HAS_AGENT_INVOCATION", model=InvocationOrder)
    replay_of = RelationshipTo("OrchestrationRun", "REPLAY_OF", cardinality=ZeroOrOne)


NODE_CLASSES: tuple[type[StructuredNode], ...] = (
    UserRequest, RecipeVersion, Ingredient, OrchestrationRun, CalculationResult, GraphSnapshot,
    ValidationReport, UIConfig, AgentInvocation,
)
