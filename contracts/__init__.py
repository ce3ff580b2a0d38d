"""The v1 data contract (design document sections 3 and 6): one source of truth.

PURE: Pydantic v2 models only; imports neither django, neo4j, celery nor the clock.
camelCase on the wire (`targetBatchSize`), snake_case in Python (`target_batch_size`).
JSON Schema files generated from these models are committed under schemas/v1/.
"""

from .artifacts import (
    MAX_INGREDIENTS,
    Calculation,
    Check,
    Costs,
    CypherCommand,
    Graph,
    GraphEdge,
    GraphNode,
    Ingredient,
    Position,
    Recipe,
    ScaledIngredient,
    UIComponent,
    UIConfig,
    Validation,
    ValidationIssue,
    Yield,
)
from .base import (
    CONTRACT_VERSION,
    ContractError,
    ContractModel,
    canonical_json,
    checksum,
    field_path,
    output_ref,
    sha256_hex,
    strip_transient,
)
from .run import (
    ALREADY_VALIDATED,
    RESERVED_RUN_IDS,
    AgentHistoryEntry,
    Condensation,
    EnvelopeError,
    EnvelopeKeyError,
    EnvelopeKeys,
    GraphSummary,
    HandoffEnvelope,
    HandoffMetadata,
    InputContract,
    RequestConfig,
    RequestContext,
    Resources,
    RunMetadata,
    RunResult,
    Transcript,
    ValidationSummary,
    envelope_from_wire,
    envelope_to_wire,
    open_envelope,
    parse_input,
    parse_numbered_run_results,
    parse_run_result,
    parse_run_results_document,
    seal,
)
from .schemas import SCHEMA_MODELS, generate_schemas
from .stages import (
    ARTIFACT_OF,
    DEFAULT_AGENTS,
    DEFAULT_BUDGETS,
    STAGE_BY_AGENT,
    STAGE_NAMES,
    STAGE_ORDER,
    STAGE_TABLE,
    STAGES,
    WIRE_NAME,
    Stage,
    stage_index,
)

__all__ = [
    "DEFAULT_AGENTS", "DEFAULT_BUDGETS", "STAGE_BY_AGENT", "STAGE_NAMES", "STAGE_ORDER",
    "STAGE_TABLE", "Stage",
    "stage_index",
    "ARTIFACT_OF", "CONTRACT_VERSION", "MAX_INGREDIENTS", "SCHEMA_MODELS", "STAGES", "WIRE_NAME",
    "AgentHistoryEntry", "Calculation", "Check", "Condensation", "ContractError", "ContractModel",
    "Costs", "CypherCommand", "EnvelopeError", "EnvelopeKeyError", "EnvelopeKeys", "Graph",
    "GraphEdge", "GraphNode", "GraphSummary", "HandoffEnvelope",
    "HandoffMetadata", "Ingredient", "InputContract", "Position", "Recipe", "RequestConfig",
    "RequestContext", "Resources", "RunMetadata", "RunResult", "ScaledIngredient", "Transcript",
    "UIComponent",
    "UIConfig", "Validation", "ValidationIssue", "ValidationSummary", "Yield", "canonical_json",
    "checksum", "envelope_from_wire", "envelope_to_wire",
    "field_path", "generate_schemas", "open_envelope", "output_ref", "parse_input",
    "parse_numbered_run_results",
    "parse_run_result", "parse_run_results_document", "ALREADY_VALIDATED", "RESERVED_RUN_IDS",
    "seal",
    "sha256_hex", "strip_transient",
]
