"""Retrieval (graphstore/retrieval.py): full-text ranking of past runs and a run's context.

PURE: imports neither django, neo4j, celery nor the clock. The index names come from the schema
table (graphstore/schema.py, FULLTEXT_INDEXES); the user's words travel in $query only.
"""

from __future__ import annotations

from ..schema import FULLTEXT_INDEXES
from ..scope import ALL, OWNED

REQUEST_INDEX, RECIPE_INDEX, INGREDIENT_INDEX = (ix.name for ix in FULLTEXT_INDEXES)

# The full-text indexes are eventually consistent (cypher/schema.py): a statement that reads
# one starts with this, which waits (in the same round trip) until every committed update is
# in the index, so that a run written a moment ago is found.
FULLTEXT_FRESH = "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()"

# Each index queried with the same Lucene query; hits carried to their runs, weighted
# ($wRequest, $wRecipe, $wIngredient), summed per run; committed, succeeded, valid runs only, in
# the scope (graphstore/scope.py): every run, or those owned by $ownerId. An ingredient hit counts
# for a run only when its recipe names the ingredient so (HAS_INGREDIENT.name): the shared
# Ingredient node keeps the name its first run gave, which may be another owner's.
def _similar_runs(scope_filter: str) -> str:
    return (
        f"{FULLTEXT_FRESH}\n"
        "CALL () {\n"
        f"  CALL db.index.fulltext.queryNodes('{REQUEST_INDEX}', $query, {{limit: $candidates}})\n"
        "  YIELD node, score\n"
        "  MATCH (node)-[:TRIGGERED]->(r:OrchestrationRun)\n"
        "  RETURN r, 'request' AS field, node.userRequest AS text, score * $wRequest AS score\n"
        "  UNION ALL\n"
        f"  CALL db.index.fulltext.queryNodes('{RECIPE_INDEX}', $query, {{limit: $candidates}})\n"
        "  YIELD node, score\n"
        "  MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(node)\n"
        "  RETURN r, 'recipe' AS field, node.name AS text, score * $wRecipe AS score\n"
        "  UNION ALL\n"
        f"  CALL db.index.fulltext.queryNodes('{INGREDIENT_INDEX}', $query, "
        "{limit: $candidates})\n"
        "  YIELD node, score\n"
        "  MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(:RecipeVersion)-[h:HAS_INGREDIENT]->(node)\n"
        "  WHERE h.name = node.name\n"
        "  RETURN r, 'ingredient' AS field, node.name AS text, score * $wIngredient AS score\n"
        "}\n"
        "WITH r, field, text, score\n"
        f"WHERE r.commitChecksum IS NOT NULL AND r.status = 'succeeded'{scope_filter}\n"
        "  AND EXISTS { MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport) "
        "WHERE v.valid = true }\n"
        "WITH r, field, text, score ORDER BY score DESC, field, text\n"
        "WITH r, sum(score) AS total,\n"
        "     collect({field: field, text: text, score: score}) AS matches\n"
        "ORDER BY total DESC, r.startedAt DESC, r.runId\n"
        "LIMIT $limit\n"
        "OPTIONAL MATCH (u:UserRequest)-[:TRIGGERED]->(r)\n"
        "OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
        "RETURN r.runId AS runId, total AS score, r.startedAt AS startedAt,\n"
        "       u.userRequest AS request, rv.recipeId AS recipeId, rv.name AS recipe, matches\n"
        "ORDER BY score DESC, startedAt DESC, runId"
    )


SIMILAR_RUNS = {ALL: _similar_runs(""), OWNED: _similar_runs(" AND r.ownerId = $ownerId")}

# A run's subgraph for a prompt, in one read.
RUN_CONTEXT = (
    "MATCH (r:OrchestrationRun {runId: $runId})\n"
    "WHERE r.commitChecksum IS NOT NULL\n"
    "OPTIONAL MATCH (u:UserRequest)-[:TRIGGERED]->(r)\n"
    "OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    "CALL (rv) { OPTIONAL MATCH (rv)-[h:HAS_INGREDIENT]->(i:Ingredient)\n"
    "            WITH h, i ORDER BY h.position\n"
    "            RETURN collect(CASE WHEN h IS NULL THEN NULL ELSE\n"
    "                   {id: i.ingredientId, name: h.name, percentage: h.percentage,\n"
    "                    function: h.function, category: h.category} END) AS ingredients }\n"
    "RETURN r {.runId, .status, .startedAt, .totalDuration, .failedAgent, .condensed,\n"
    "          .condensedRemoved} AS run,\n"
    "       u {.userRequest, .targetBatchSize, .targetUnit} AS request,\n"
    "       rv {.recipeId, .name, .totalPercentage} AS recipe, ingredients,\n"
    "       c {.targetBatchSize, .targetUnit, .costs, .scaledIngredients, .yield,\n"
    "          .warnings} AS calculation,\n"
    "       v {.valid, .canProceed, .summary, .errors, .warnings, .errorCount,\n"
    "          .warningCount} AS validation"
)
