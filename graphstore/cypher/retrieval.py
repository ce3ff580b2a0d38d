"""Retrieval (graphstore/retrieval.py): full-text ranking of past runs and a run's context.

PURE: imports neither django, neo4j, celery nor the clock. The index names come from the schema
table (graphstore/schema.py, FULLTEXT_INDEXES); the user's words travel in $query only.
"""

from __future__ import annotations

from ..schema import FULLTEXT_INDEXES, VECTOR_INDEX
from ..scope import ALL, OWNED

REQUEST_INDEX, RECIPE_INDEX, INGREDIENT_INDEX = (ix.name for ix in FULLTEXT_INDEXES)

# The full-text indexes are eventually consistent (cypher/schema.py): a statement that reads
# one starts with this, which waits (in the same round trip) until every committed update is
# in the index, so that a run written a moment ago is found.
FULLTEXT_FRESH = "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()"

# A run kept as a hit: committed, succeeded, validated as valid, in the scope. The validation
# check is wrapped in coalesce() (EXISTS is never null, so the value is the same): a bare
# EXISTS is planned as a SemiApply that runs for every row before the property filters (the
# owner's, the status), the wrapped one is evaluated last in the filter, only for the rows
# that passed them. At 100,000 runs, the 1,000 vector neighbours of a run of one owner (a
# tenth of the runs): 15,180 db hits bare, 2,849 wrapped.
_keep_template = (
    "{v}.commitChecksum IS NOT NULL AND {v}.status = 'succeeded'{scope}\n"
    "  AND coalesce(EXISTS {{ MATCH ({v})-[:PRODUCED_VALIDATION]->(v:ValidationReport) "
    "WHERE v.valid = true }}, false)"
)
_OWNED = " AND r.ownerId = $ownerId"


def _keep(scope_filter: str, v: str = "r") -> str:
    """The keep condition on the run variable `v` (the scope filter is written for `r`)."""
    return _keep_template.format(scope=scope_filter.replace("r.ownerId", f"{v}.ownerId"), v=v)


# Each index queried with the same Lucene query; hits carried to their runs, weighted
# ($wRequest, $wRecipe, $wIngredient), summed per run; committed, succeeded, valid runs only, in
# the scope (graphstore/scope.py): every run, or those owned by $ownerId. An ingredient hit counts
# for a run only when its recipe names the ingredient so (HAS_INGREDIENT.name): the shared
# Ingredient node keeps the name its first run gave, which may be another owner's.
# Both full-text statements end alike: a run's matches summed, the best $limit runs, their cards.
_RANKED = (
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
        f"WHERE {_keep(scope_filter)}\n"
        "WITH r, field, text, score ORDER BY score DESC, field, text\n"
        + _RANKED
    )


SIMILAR_RUNS = {ALL: _similar_runs(""), OWNED: _similar_runs(" AND r.ownerId = $ownerId")}


# SIMILAR_RUNS with the runs a hit reaches bounded (graphstore/retrieval.py, `fanout`). Above,
# every hit is carried to all of its runs: "lemon" reaches every run with lemon juice, a quarter
# of the graph, and a request text many runs share ("lemon vinaigrette, 5 kg") reaches each of
# them. Here a hit with at most $fanout runs (requests, recipes) or recipes (ingredients) is
# carried to all of them, as above, the rarest hits first while they reach $scan runs in all
# (all the hits of one degree, or none);
# the runs of the other hits (`heavy`) are found by
# walking the scope's runs newest first through the started-at index: at most $scan runs walked,
# the first $fanout kept runs that a heavy hit reaches taken. Every candidate is then scored as
# above: the light hits that reached it, plus each heavy hit its own request, recipe or
# ingredients are. So a candidate's score and matches are the same in both statements, and when
# the first $limit runs of SIMILAR_RUNS are candidates both return them in the same order.
def _similar_runs_bounded(scope_filter: str) -> str:
    owner_seek = " AND r.ownerId = $ownerId" if scope_filter else ""
    # the owner's runs come from the (ownerId, startedAt) index in its order only when the order
    # names both properties (ownerId is fixed, so this is newest first): no sort of all of them
    newest = "r.ownerId DESC, r.startedAt DESC" if scope_filter else "r.startedAt DESC"

    def light(field: str, match: str, text: str) -> str:
        return (
            f"  UNWIND light AS hit WITH hit WHERE hit.field = '{field}'\n"
            "  WITH hit.node AS node, hit.score AS score\n"
            f"  {match}\n"
            f"  RETURN r, {{field: '{field}', text: {text}, score: score}} AS m\n")

    def heavy(match: str, where: str = "") -> str:
        return ("    UNWIND runs AS x WITH x.r AS r\n"
                f"    {match}\n"
                f"    WHERE node IN heavyNodes{where}\n"
                "    RETURN node, r, null AS score, null AS field\n")

    return (
        f"{FULLTEXT_FRESH}\n"
        "CALL () {\n"
        f"  CALL db.index.fulltext.queryNodes('{REQUEST_INDEX}', $query, {{limit: $candidates}})\n"
        "  YIELD node, score\n"
        "  RETURN node, 'request' AS field, score * $wRequest AS score,\n"
        "         COUNT { (node)-[:TRIGGERED]->() } AS degree\n"
        "  UNION ALL\n"
        f"  CALL db.index.fulltext.queryNodes('{RECIPE_INDEX}', $query, {{limit: $candidates}})\n"
        "  YIELD node, score\n"
        "  RETURN node, 'recipe' AS field, score * $wRecipe AS score,\n"
        "         COUNT { (node)<-[:USED_RECIPE]-() } AS degree\n"
        "  UNION ALL\n"
        f"  CALL db.index.fulltext.queryNodes('{INGREDIENT_INDEX}', $query, "
        "{limit: $candidates})\n"
        "  YIELD node, score\n"
        "  RETURN node, 'ingredient' AS field, score * $wIngredient AS score,\n"
        "         COUNT { (node)<-[:HAS_INGREDIENT]-() } AS degree\n"
        "}\n"
        "WITH collect({node: node, field: field, score: score, degree: degree}) AS hits\n"
        "CALL (hits) {\n"
        "  UNWIND hits AS hit\n"
        "  WITH hit.degree AS degree, count(*) AS n ORDER BY degree\n"
        "  RETURN reduce(acc = {total: 0, cut: -1, open: true},\n"
        "                level IN collect({degree: degree, runs: degree * n}) |\n"
        "         CASE WHEN acc.open AND level.degree <= $fanout\n"
        "              AND acc.total + level.runs <= $scan\n"
        "         THEN {total: acc.total + level.runs, cut: level.degree, open: true}\n"
        "         ELSE {total: acc.total, cut: acc.cut, open: false} END).cut AS cut\n"
        "}\n"
        "WITH [hit IN hits WHERE hit.degree <= cut] AS light,\n"
        "     [hit IN hits WHERE hit.degree > cut] AS heavy\n"
        "CALL (light, heavy) {\n"
        + light("request", "MATCH (node)-[:TRIGGERED]->(r:OrchestrationRun)", "node.userRequest")
        + "  UNION ALL\n"
        + light("recipe", "MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(node)", "node.name")
        + "  UNION ALL\n"
        + light("ingredient", "MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(:RecipeVersion)"
                "-[h:HAS_INGREDIENT]->(node)\n  WHERE h.name = node.name", "node.name")
        + "  UNION ALL\n"
        "  WITH [x IN heavy | x.node] AS nodes\n"
        "  WHERE size(nodes) > 0\n"
        "  CALL (nodes) {\n"
        f"    MATCH (r:OrchestrationRun) WHERE r.startedAt IS NOT NULL{owner_seek}\n"
        f"    WITH r ORDER BY {newest} LIMIT $scan\n"
        "    WITH r WHERE (EXISTS { MATCH (u)-[:TRIGGERED]->(r) WHERE u IN nodes }\n"
        "        OR EXISTS { MATCH (r)-[:USED_RECIPE]->(rv) WHERE rv IN nodes }\n"
        "        OR EXISTS { MATCH (r)-[:USED_RECIPE]->(:RecipeVersion)-[h:HAS_INGREDIENT]->(i)\n"
        "                    WHERE i IN nodes AND h.name = i.name })\n"
        f"      AND {_keep(scope_filter)}\n"
        "    RETURN r LIMIT $fanout\n"
        "  }\n"
        "  RETURN r, null AS m\n"
        "}\n"
        "WITH r, m, heavy\n"
        f"WHERE {_keep(scope_filter)}\n"
        # heavy is the same list on every row: taken once, never a grouping key
        "WITH r, collect(m) AS found, collect(heavy)[0] AS heavy\n"
        "WITH collect({r: r, found: found}) AS runs, collect(heavy)[0] AS heavy\n"
        # (a node IN a list that is the same on every row is a set lookup in Neo4j)
        "WITH runs, heavy, [x IN heavy | x.node] AS heavyNodes\n"
        "CALL (runs, heavy, heavyNodes) {\n"
        "  UNWIND runs AS x UNWIND x.found AS m\n"
        "  RETURN x.r AS r, m\n"
        "  UNION ALL\n"
        # a candidate's own request, recipe and ingredients met with the heavy hits by
        # grouping on the node (a hash join): no hit list scanned per row
        "  CALL (runs, heavy, heavyNodes) {\n"
        "    UNWIND heavy AS x\n"
        "    RETURN x.node AS node, null AS r, x.score AS score, x.field AS field\n"
        "    UNION ALL\n"
        + heavy("MATCH (node:UserRequest)-[:TRIGGERED]->(r)")
        + "    UNION ALL\n"
        + heavy("MATCH (r)-[:USED_RECIPE]->(node:RecipeVersion)")
        + "    UNION ALL\n"
        + heavy("MATCH (r)-[:USED_RECIPE]->(:RecipeVersion)"
                "-[h:HAS_INGREDIENT]->(node:Ingredient)", " AND h.name = node.name")
        + "  }\n"
        "  WITH node, collect(r) AS reached, collect(score) AS scores,\n"
        "       collect(field) AS fields\n"
        "  WHERE size(scores) > 0\n"
        "  UNWIND reached AS r\n"
        "  RETURN r, {field: fields[0], text: CASE fields[0] WHEN 'request' THEN\n"
        "         node.userRequest ELSE node.name END, score: scores[0]} AS m\n"
        "}\n"
        "WITH r, m.field AS field, m.text AS text, m.score AS score\n"
        "ORDER BY score DESC, field, text\n"
        + _RANKED
    )


SIMILAR_RUNS_BOUNDED = {ALL: _similar_runs_bounded(""),
                        OWNED: _similar_runs_bounded(_OWNED)}

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


# --- retrieval by composition and vectors (graphstore/retrieval.py, graphstore/similarity.py) --

VECTOR_INDEX_NAME = VECTOR_INDEX.name

def _min(a: str, b: str) -> str:
    return f"CASE WHEN {a} < {b} THEN {a} ELSE {b} END"


def _lines(rv: str, out: str) -> str:
    return (f"CALL ({rv}) {{ MATCH ({rv})-[h:HAS_INGREDIENT]->(i:Ingredient)\n"
            f"  RETURN collect({{id: i.ingredientId, pct: h.percentage, fn: h.function, "
            f"cat: h.category}}) AS {out} }}\n")


def _role_totals(rv: str, prop: str, out: str) -> str:
    return (f"CALL ({rv}) {{ MATCH ({rv})-[h:HAS_INGREDIENT]->()\n"
            f"  WHERE h.{prop} IS NOT NULL WITH h.{prop} AS k, sum(h.percentage) AS p\n"
            f"  RETURN collect({{k: k, p: p}}) AS {out} }}\n")


def _role_overlap(mine: str, attr: str) -> str:
    theirs = f"reduce(t = 0.0, b IN theirs | t + CASE WHEN b.{attr} = x.k THEN b.pct ELSE 0.0 END)"
    return (f"reduce(s = 0.0, pr IN [x IN {mine} | [x.p, {theirs}]] | "
            f"s + {_min('pr[0]', 'pr[1]')})")


def _scale_cost(c0: str, c: str) -> str:
    scale = (f"CASE WHEN {c0} IS NULL OR {c} IS NULL OR {c}.targetUnit <> {c0}.targetUnit\n"
             f"       OR NOT {c0}.targetBatchSize > 0 OR NOT {c}.targetBatchSize > 0 THEN 0.0\n"
             f"  ELSE 1.0 / (1.0 + abs(log({c}.targetBatchSize / {c0}.targetBatchSize))) END")
    cost = (f"CASE WHEN {c0} IS NULL OR {c} IS NULL OR {c}.currency <> {c0}.currency\n"
            f"       OR NOT {c0}.totalCost > 0 OR NOT {c}.totalCost > 0\n"
            f"       OR NOT {c0}.targetBatchSize > 0 OR NOT {c}.targetBatchSize > 0 THEN 0.0\n"
            f"  ELSE 1.0 / (1.0 + abs(log(({c}.totalCost / {c}.targetBatchSize)\n"
            f"       / ({c0}.totalCost / {c0}.targetBatchSize)))) END")
    return f"{scale} AS scale,\n     {cost} AS cost"


# Runs like $runId by composition (graphstore/similarity.py has the formula). Two statements
# with one tail, differing only in the candidate recipes:
#  - COMPOSITION_NEIGHBOURS (exact): every recipe that shares an ingredient with the run's recipe
#    (and the recipe itself, for other runs of the same content). Grows with the recipes that
#    use the run's commonest ingredient (water, salt: nearly every recipe).
#  - COMPOSITION_NEIGHBOURS_BOUNDED: the recipes of the $neighbours runs nearest to the run by
#    the vector index (kept runs in the scope only), of those the ones that share an
#    ingredient with it, and the recipe itself. Bounded by $neighbours, whatever the graph.
# Each candidate recipe is scored by shared mass, function and category overlap; carried to its
# kept runs, which add scale and cost similarity; best first by (score, newest, runId). The
# tail is the same text in both, so a run whose recipe is a candidate scores the same in both:
# whenever the exact path's first $limit runs are runs of candidate recipes, the bounded path
# returns the same runs in the same order with the same scores (README, retrieval section).
def _composition_head(scope_filter: str, bounded: bool) -> str:
    candidate_scope = ("" if not scope_filter else
                       "WHERE EXISTS { MATCH (rv)<-[:USED_RECIPE]-(x:OrchestrationRun) "
                       "WHERE x.ownerId = $ownerId }\n")
    if bounded:
        candidates = (
            "CALL (r0, rv0, mine) {\n"
            f"  CALL db.index.vector.queryNodes('{VECTOR_INDEX.name}', $neighbours, "
            "r0.embedding)\n"
            "  YIELD node AS n\n"
            f"  WHERE n <> r0 AND {_keep(scope_filter, 'n')}\n"
            "  MATCH (n)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
            "  WHERE EXISTS { MATCH (rv)-[:HAS_INGREDIENT]->(i:Ingredient) "
            "WHERE i.ingredientId IN [m IN mine | m.id] }\n"
            "  RETURN rv\n"
            "  UNION\n"
            "  RETURN rv0 AS rv\n"
            "}\n")
        start = ("MATCH (r0:OrchestrationRun {runId: $runId})-[:USED_RECIPE]->"
                 "(rv0:RecipeVersion)\nWHERE r0.embedding IS NOT NULL\n")
    else:
        candidates = (
            "CALL (rv0) {\n"
            "  MATCH (rv0)-[:HAS_INGREDIENT]->(:Ingredient)<-[:HAS_INGREDIENT]-(rv:RecipeVersion)\n"
            "  RETURN rv\n"
            "  UNION\n"
            "  RETURN rv0 AS rv\n"
            "}\n")
        start = ("MATCH (r0:OrchestrationRun {runId: $runId})-[:USED_RECIPE]->"
                 "(rv0:RecipeVersion)\n")
    return (
        start
        + "OPTIONAL MATCH (r0)-[:PRODUCED_CALCULATION]->(c0:CalculationResult)\n"
        + _lines("rv0", "mine") + _role_totals("rv0", "function", "myFns")
        + _role_totals("rv0", "category", "myCats")
        + candidates
        + "WITH r0, c0, mine, myFns, myCats, rv\n"
        + candidate_scope
    )


def _composition_tail(scope_filter: str) -> str:
    return (
        _lines("rv", "theirs")
        + "WITH r0, c0, rv,\n"
        "     reduce(s = 0.0, a IN mine | s + reduce(t = 0.0, b IN theirs |\n"
        f"       t + CASE WHEN a.id = b.id THEN {_min('a.pct', 'b.pct')} ELSE 0.0 END))"
        " AS shared,\n"
        f"     {_role_overlap('myFns', 'fn')} AS fn,\n"
        f"     {_role_overlap('myCats', 'cat')} AS cat\n"
        "WITH r0, c0, rv, shared, fn, cat,\n"
        "     ($wShared * shared + $wFunction * fn + $wCategory * cat) / 100.0 AS base\n"
        "MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(rv)\n"
        f"WHERE r <> r0 AND {_keep(scope_filter)}\n"
        "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
        "WITH r, base, shared, fn, cat,\n"
        f"     {_scale_cost('c0', 'c')}\n"
        "RETURN r.runId AS runId, base + $wScale * scale + $wCost * cost AS score,\n"
        "       shared, fn AS function, cat AS category, scale, cost\n"
        "ORDER BY score DESC, r.startedAt DESC, runId\n"
        "LIMIT $limit"
    )


COMPOSITION_NEIGHBOURS = {
    scope: _composition_head(f, bounded=False) + _composition_tail(f)
    for scope, f in ((ALL, ""), (OWNED, _OWNED))}
COMPOSITION_NEIGHBOURS_BOUNDED = {
    scope: _composition_head(f, bounded=True) + _composition_tail(f)
    for scope, f in ((ALL, ""), (OWNED, _OWNED))}


# Runs whose recipes contain what a free-text query names ($mentions, graphstore/similarity.py
# Mention.as_param): per mention, the HAS_INGREDIENT edges of its ingredients, functions and
# categories (each edge once), their summed percentage per recipe; a mention counts 1 when it has
# no percentage, else 0.5 for presence + 0.5 for closeness (1 - |mass - wanted| / $tolerance,
# not below 0); a recipe's score is the mean over the mentions.
def _text_composition(scope_filter: str) -> str:
    return (
        "UNWIND $mentions AS m\n"
        "CALL (m) {\n"
        "  UNWIND m.ingredients AS iid\n"
        "  MATCH (:Ingredient {ingredientId: iid})<-[h:HAS_INGREDIENT]-(rv:RecipeVersion)\n"
        "  RETURN rv, h\n"
        "  UNION\n"
        "  UNWIND m.functions AS f\n"
        "  MATCH (rv:RecipeVersion)-[h:HAS_INGREDIENT]->() WHERE h.function = f\n"
        "  RETURN rv, h\n"
        "  UNION\n"
        "  UNWIND m.categories AS k\n"
        "  MATCH (rv:RecipeVersion)-[h:HAS_INGREDIENT]->() WHERE h.category = k\n"
        "  RETURN rv, h\n"
        "}\n"
        "WITH m, rv, sum(h.percentage) AS mass\n"
        "WITH m, rv, mass, CASE WHEN m.percentage IS NULL THEN 1.0 ELSE 0.5 + 0.5 *\n"
        "     CASE WHEN abs(mass - m.percentage) > $tolerance THEN 0.0\n"
        "          ELSE 1.0 - abs(mass - m.percentage) / $tolerance END END AS part\n"
        "WITH rv, sum(part) / toFloat($mentionCount) AS base,\n"
        "     collect({text: m.text, mass: mass, wanted: m.percentage}) AS found\n"
        "ORDER BY base DESC, rv.checksum\n"
        "LIMIT $candidates\n"
        "MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(rv)\n"
        f"WHERE {_keep(scope_filter)}\n"
        "RETURN r.runId AS runId, base AS score, found\n"
        "ORDER BY score DESC, r.startedAt DESC, runId\n"
        "LIMIT $limit"
    )


TEXT_COMPOSITION = {ALL: _text_composition(""), OWNED: _text_composition(_OWNED)}


# Nearest runs by embedding (the vector index, cosine): to a run ($runId's own embedding) or to
# a vector ($vector). The index is queried for $candidates neighbours before the filters; a
# neighbour must score above $minScore (Neo4j's cosine score is (1 + cos) / 2: 0.5 = orthogonal).
def _vector(source: str, scope_filter: str) -> str:
    head = ("MATCH (r0:OrchestrationRun {runId: $runId}) WHERE r0.embedding IS NOT NULL\n"
            f"CALL db.index.vector.queryNodes('{VECTOR_INDEX_NAME}', $candidates, r0.embedding)"
            if source == "run" else
            f"CALL db.index.vector.queryNodes('{VECTOR_INDEX_NAME}', $candidates, $vector)")
    exclude = "r <> r0 AND " if source == "run" else ""
    return (
        f"{head}\n"
        "YIELD node AS r, score\n"
        f"WHERE score > $minScore AND {exclude}{_keep(scope_filter)}\n"
        "RETURN r.runId AS runId, score\n"
        "ORDER BY score DESC, runId\n"
        "LIMIT $limit"
    )


VECTOR_NEIGHBOURS = {ALL: _vector("run", ""), OWNED: _vector("run", _OWNED)}
VECTOR_SEARCH = {ALL: _vector("vector", ""), OWNED: _vector("vector", _OWNED)}

# What a hit shows (and what collapsing and the reasons need), for $runIds (already scoped).
RUN_CARDS = (
    "UNWIND $runIds AS id\n"
    "MATCH (r:OrchestrationRun {runId: id})\n"
    "OPTIONAL MATCH (u:UserRequest)-[:TRIGGERED]->(r)\n"
    "OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    "CALL (rv) { OPTIONAL MATCH (rv)-[h:HAS_INGREDIENT]->(i:Ingredient)\n"
    "            WITH h, i ORDER BY h.position\n"
    "            RETURN collect(CASE WHEN h IS NULL THEN NULL ELSE\n"
    "                   {id: i.ingredientId, name: h.name, percentage: h.percentage,\n"
    "                    function: h.function, category: h.category} END) AS lines }\n"
    "RETURN r.runId AS runId, r.status AS status, r.startedAt AS startedAt,\n"
    "       u.userRequest AS request, rv.checksum AS recipeChecksum, rv.recipeId AS recipeId,\n"
    "       rv.name AS recipe, c.targetBatchSize AS batch, c.targetUnit AS unit,\n"
    "       c.totalCost AS cost, c.currency AS currency, lines,\n"
    "       r.embedding IS NOT NULL AS embedded"
)

# What collapsing identical runs needs of each fused hit (similarity.identity_key): read for
# every hit first, the whole card (RUN_CARDS, with the recipe's lines) only for the hits kept.
RUN_IDENTITIES = (
    "UNWIND $runIds AS id\n"
    "MATCH (r:OrchestrationRun {runId: id})\n"
    "OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    "RETURN r.runId AS runId, rv.checksum AS recipeChecksum, c.targetBatchSize AS batch,\n"
    "       c.targetUnit AS unit"
)

# What a free-text query may name (graphstore/similarity.py Vocabulary).
# One owner's vocabulary comes from their own recipes (the names their runs give), so that a
# search never learns what another owner named an ingredient.
_OWN_EDGES = ("MATCH (r:OrchestrationRun {ownerId: $ownerId})-[:USED_RECIPE]->(:RecipeVersion)"
              "-[h:HAS_INGREDIENT]->(i:Ingredient)\n")
VOCABULARY_INGREDIENTS = {
    ALL: "MATCH (i:Ingredient) RETURN i.ingredientId AS id, i.name AS name",
    OWNED: _OWN_EDGES + "RETURN DISTINCT i.ingredientId AS id, h.name AS name",
}
VOCABULARY_ROLES = {
    ALL: "CALL () { MATCH ()-[h:HAS_INGREDIENT]->() WHERE h.function IS NOT NULL\n"
         "          RETURN collect(DISTINCT h.function) AS functions }\n"
         "CALL () { MATCH ()-[h:HAS_INGREDIENT]->() WHERE h.category IS NOT NULL\n"
         "          RETURN collect(DISTINCT h.category) AS categories }\n"
         "RETURN functions, categories",
    OWNED: _OWN_EDGES + "RETURN [f IN collect(DISTINCT h.function) WHERE f IS NOT NULL] "
           "AS functions,\n"
           "       [c IN collect(DISTINCT h.category) WHERE c IS NOT NULL] AS categories",
}

# The per-run embedding: set by the writer with the run's commit marker (cypher/write.py) or,
# in the pipeline, right after the run is persisted (RunWriter.write_embedding: the vector
# index's upkeep off the write), and by the backfill (`manage.py backfill_embeddings`) for runs
# written before, page by page. Only a committed run gets one.
SET_RUN_EMBEDDING = (
    "MATCH (r:OrchestrationRun {runId: $runId}) WHERE r.commitChecksum IS NOT NULL\n"
    "SET r.embedding = $embedding, r.embeddingModel = $embeddingModel\n"
    "RETURN r.runId AS runId"
)
SET_RUN_EMBEDDINGS = (
    "UNWIND $rows AS row\n"
    "MATCH (r:OrchestrationRun {runId: row.runId})\n"
    "SET r.embedding = row.embedding, r.embeddingModel = $model"
)
RUNS_WITHOUT_EMBEDDING = (
    "MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "WHERE r.commitChecksum IS NOT NULL AND r.runId > $after\n"
    "  AND (r.embedding IS NULL OR $all)\n"
    "WITH r, rv ORDER BY r.runId LIMIT $batch\n"
    "CALL (rv) { MATCH (rv)-[h:HAS_INGREDIENT]->(i:Ingredient) WITH h, i ORDER BY h.position\n"
    "            RETURN collect({id: i.ingredientId, name: h.name, percentage: h.percentage,\n"
    "                            function: h.function, category: h.category}) AS lines }\n"
    "RETURN r.runId AS runId, rv.name AS recipe, lines\n"
    "ORDER BY runId"
)

# The evaluation (manage.py retrieval_eval, on the test Neo4j only): an empty graph, and the vector
# index dropped so that the installer recreates it with the current configuration.
EVAL_WIPE_GRAPH = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS"
DROP_VECTOR_INDEX = f"DROP INDEX {VECTOR_INDEX_NAME} IF EXISTS"
