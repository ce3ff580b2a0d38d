"""The hostile-input corpus: malformed and hostile bodies for the two JSON endpoints that take one.

Built programmatically from one valid RunResult (`tools.synthetic.make_run`) and one valid
input contract, so that each case differs from a valid body in one way and names the field that
makes it invalid. Categories (`Case.category`):

    wrong_type          a field of the wrong JSON type
    missing_field       a required field left out
    percentage_range    percentages below 0 or above 100
    percentage_string   percentages given as strings ("12.5", "50%", "")
    ingredient_count    0, 21 or 100 ingredients (the contract allows 1 to 20)
    duplicate_ids       duplicate ingredient ids, graph node ids, agentHistory sequences
    body_size           bodies over the limit, 10 MB among them (413 before parsing)
    deep_nesting        arrays and objects nested beyond the JSON parser's recursion limit
    invalid_utf8        bytes that are not UTF-8, escaped lone surrogates, UTF-16
    nan_infinity        NaN, Infinity, -Infinity literals, and numbers that overflow to them
    huge_numbers        numbers beyond any range the contract allows, or beyond a float
    malformed_json      truncated JSON, trailing garbage, comments, a non-object root, empty
    content_type        a body that is not declared as JSON (415)
    unknown_field       a field the contract does not have (a `labels` key on a graph node...)
    bad_choice          a value outside a choice set or pattern (unit, status, agent, currency)
    inconsistent        a run whose parts contradict each other (artifacts not a prefix, a
                        status its agentHistory contradicts, an outputRef not its artifact's...)
    utc_range           a timestamp UTC cannot hold (9999-12-31 late in the day at -05:00...)
    reserved_id         a runId that is a word of the URL space (every reserved word)
    oversized_field     a string longer than its field allows
    write_set_limit     a run that maps to more than 500 graph elements (422)
    injection_refused   Cypher-injection strings in identifier fields (refused by the pattern)

plus `injection_runs()`: valid RunResults with Cypher-injection strings in EVERY free-text
string field (and as keys of the free-form objects). Those must be accepted as plain data,
stored verbatim and read back unchanged.

Pure data: importing this module touches no database; body-size cases read the limit from
Django's settings when built.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts import (
    ARTIFACT_OF,
    RESERVED_RUN_IDS,
    ContractError,
    RunResult,
    output_ref,
    parse_run_result,
)
from tools.synthetic import make_run

REQUESTS = "/api/orchestration/requests"
RUNS = "/api/orchestration/runs"
JSON = "application/json"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TEN_MB = 10 * 1024 * 1024

# Cypher-injection payloads: quotes closing a literal, comments, backticks (label quoting),
# parameters, procedure calls. None has leading or trailing white space (names are stripped).
INJECTIONS: tuple[str, ...] = (
    '"}) MATCH (n) DETACH DELETE n //',
    "' OR 1=1 //",
    "`Pwned`) CREATE (:`Pwned` {by: 'backtick'}) WITH 1 AS x MATCH (n) DETACH DELETE n //",
    "$param}) SET n += $props WITH n MATCH (m) DETACH DELETE m RETURN $runId //",
    'CALL db.labels() YIELD label CALL apoc.cypher.runWrite("MATCH (n) DETACH DELETE n", {}) '
    "YIELD value RETURN value",
    "'}]->(x) MERGE (:Pwned)-[:PWNED]->(:Pwned) /* \\u0027 */ //",
)


@dataclass(frozen=True)
class Case:
    """One hostile request: POST `body` to `endpoint`; the answer must be `status` (a 4xx) in
    the JSON error shape, naming `field` in errors[].field when `field` is given, with `says`
    in its detail when given."""

    id: str
    category: str
    endpoint: str
    body: bytes
    status: int = 400
    field: str | None = None
    says: str | None = None
    content_type: str = JSON

    @property
    def family(self) -> str:
        return f"{self.status // 100}xx"


@dataclass(frozen=True)
class InjectionRun:
    """A valid RunResult carrying `payload` in every free-text string field (`paths`) and as a
    key of every free-form object: to be accepted (201) and read back verbatim."""

    id: str
    run_id: str
    payload: str
    body: bytes
    paths: tuple[Path, ...] = field(default=())  # the free-text fields holding the payload


# --- building blocks ---------------------------------------------------------------------------

Path = tuple[str | int, ...]


def path_str(path: Path) -> str:
    """("recipe", "ingredients", 3, "percentage") -> "recipe.ingredients[3].percentage"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _parent(doc: Any, path: Path) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def with_value(doc: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    _parent(out, path)[path[-1]] = value
    return out


def without(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    del _parent(out, path)[path[-1]]
    return out


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


# Non-JSON literals (NaN, Infinity, overlong numbers) go in through a marker string.
def with_literal(doc: dict[str, Any], path: Path, literal: str) -> bytes:
    marker = "\u0000LITERAL\u0000"
    return dumps(with_value(doc, path, marker)).replace(
        json.dumps(marker, ensure_ascii=False).encode(), literal.encode())


def base_input() -> dict[str, Any]:
    """A valid input contract using every field."""
    return {"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5, "targetUnit": "kg",
            "context": {"costMap": {"ing-olive-oil": 4.2}, "densityMap": {"ing-olive-oil": 0.91}},
            "config": {"version": "v1", "flags": {"fast": True}}}


def base_run(run_id: str = "run-hostile-base", *, ingredients: int = 8) -> dict[str, Any]:
    """A valid, succeeded RunResult (wire form) with its optional string fields filled in, so
    that every kind of string field of the contract is present."""
    wire = make_run(11, now=NOW, run_id=run_id, ingredients=ingredients).to_wire()
    wire["metadata"]["configSnapshot"]["note"] = "snapshot note"
    wire["metadata"]["budgetBreaches"] = ["QAValidator.duration"]
    wire["request"]["context"] = {"costMap": {"ing-salt": 0.5}, "densityMap": {"ing-salt": 2.16}}
    wire["recipe"]["metadata"]["note"] = "recipe note"
    wire["calculation"]["warnings"] = ["density of ing-salt assumed"]
    wire["calculation"]["costs"]["missing"] = [wire["recipe"]["ingredients"][0]["id"]]
    graph = wire["graph"]
    graph["nodes"][0]["properties"]["note"] = "node note"
    graph["edges"][0]["properties"]["note"] = "edge note"
    graph["metadata"]["note"] = "graph note"
    graph["cypherCommands"].append("MATCH (i:Ingredient) RETURN count(i)")  # a bare string
    issue = {"agent": "QAValidator", "field": "recipe.totalPercentage",
             "message": "close to the limit", "severity": "warning"}
    wire["validation"]["warnings"] = [issue]
    wire["validation"]["checks"]["percentage_total"]["detail"] = "sums to 100"
    component = wire["uiConfig"]["components"][0]
    component["config"] = {"caption": "component caption"}
    component["data"] = {"rows": 8, "caption": "data caption"}
    wire["agentHistory"][0]["error"] = "recovered from a transient error"
    wire["agentHistory"][2]["transcript"] = {"prompt": "scale it", "response": "scaled",
                                             "redacted": False}
    wire["agentHistory"][1]["outputRef"] = ""
    return with_output_refs(wire)


def with_output_refs(doc: dict[str, Any], *, unless: Path = ()) -> dict[str, Any]:
    """`doc` with each outputRef it carries set to the hash of its artifact as it now is (the
    contract verifies them), except the one at `unless`; unchanged when `doc` is refused for
    another reason."""
    bare = copy.deepcopy(doc)
    for entry in bare["agentHistory"]:
        entry.pop("outputRef", None)
    try:
        run = RunResult.model_validate(bare)
    except ValueError:
        return doc  # refused for another reason, which parsing it will name
    for i, entry in enumerate(doc["agentHistory"]):
        if "outputRef" in entry and ("agentHistory", i, "outputRef") != unless:
            entry["outputRef"] = output_ref(getattr(run, ARTIFACT_OF[entry["agent"]]))
    return doc


def string_leaves(doc: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from string_leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from string_leaves(value, (*path, i))
    elif isinstance(doc, str):
        yield path


# Free-form objects of a RunResult (any keys): injection strings go in as keys too.
FREE_FORM_OBJECTS: tuple[Path, ...] = (
    ("metadata", "configSnapshot"), ("recipe", "metadata"), ("graph", "nodes", 0, "properties"),
    ("graph", "edges", 0, "properties"), ("graph", "cypherCommands", 0, "parameters"),
    ("graph", "metadata"), ("uiConfig", "layout"), ("uiConfig", "theme"),
    ("uiConfig", "components", 0, "config"), ("uiConfig", "components", 0, "data"),
)


def _schema_path(path: Path) -> str:
    """Indices collapsed: recipe.ingredients[3].id -> recipe.ingredients[].id."""
    return path_str(tuple(-1 if isinstance(p, int) else p for p in path)).replace("[-1]", "[]")


def injection_split(payload: str = INJECTIONS[0]) -> tuple[list[Path], dict[str, tuple[Path, str]]]:
    """Every string field of the base run, tried with `payload`: the paths where it is valid
    data, and per schema field one path where it is refused with the field the error names."""
    base = base_run()
    accepted: list[Path] = []
    refused: dict[str, tuple[Path, str]] = {}
    for path in string_leaves(base):
        try:
            parse_run_result(with_output_refs(with_value(base, path, payload), unless=path))
        except ContractError as exc:
            refused.setdefault(_schema_path(path), (path, exc.errors[0]["field"]))
        else:
            accepted.append(path)
    return accepted, refused


# --- the corpus --------------------------------------------------------------------------------


def _request_cases() -> Iterator[Case]:
    ok = base_input()

    def case(id_: str, category: str, doc: dict[str, Any], field_: str | None,
             **kw: Any) -> Case:
        return Case(f"requests-{id_}", category, REQUESTS, dumps(doc), field=field_, **kw)

    wrong_types: list[tuple[Path, Any]] = [
        (("userRequest",), 42), (("userRequest",), ["lemon"]), (("userRequest",), {"t": "x"}),
        (("userRequest",), True), (("userRequest",), None), (("targetBatchSize",), "5"),
        (("targetBatchSize",), True), (("targetBatchSize",), [5]), (("targetBatchSize",), None),
        (("targetBatchSize",), {"value": 5}), (("targetUnit",), 1), (("targetUnit",), ["kg"]),
        (("context",), []), (("context",), "x"), (("context", "costMap"), [4.2]),
        (("context", "densityMap", "ing-olive-oil"), False), (("config",), "v1"),
        (("config", "flags", "fast"), "sometimes"), (("config", "flags"), ["fast"]),
    ]
    for i, (path, value) in enumerate(wrong_types):
        yield case(f"wrong-type-{i:02d}-{path_str(path)}", "wrong_type",
                   with_value(ok, path, value), path_str(path))
    for name in ("userRequest", "targetBatchSize", "targetUnit"):
        yield case(f"missing-{name}", "missing_field", without(ok, (name,)), name)
    yield case("empty-object", "missing_field", {}, "userRequest")
    yield case("user-request-blank", "missing_field", with_value(ok, ("userRequest",), "  \t "),
               "userRequest")
    for i, (path, value) in enumerate([
        (("targetBatchSize",), 0), (("targetBatchSize",), -5), (("targetBatchSize",), 1e10),
        (("context", "costMap", "ing-olive-oil"), -1),
        (("context", "densityMap", "ing-olive-oil"), 0),
    ]):
        yield case(f"huge-or-negative-{i}-{path_str(path)}", "huge_numbers",
                   with_value(ok, path, value), path_str(path))
    for name, literal in [("nan", "NaN"), ("infinity", "Infinity"), ("minus-infinity", "-Infinity"),
                          ("overflow", "1e999")]:
        yield Case(f"requests-{name}-targetBatchSize", "nan_infinity", REQUESTS,
                   with_literal(ok, ("targetBatchSize",), literal), field="targetBatchSize")
    yield Case("requests-nan-costMap", "nan_infinity", REQUESTS,
               with_literal(ok, ("context", "costMap", "ing-olive-oil"), "NaN"),
               field="context.costMap.ing-olive-oil")
    yield Case("requests-5000-digit-number", "huge_numbers", REQUESTS,
               with_literal(ok, ("targetBatchSize",), "1" + "0" * 5000), says="not valid JSON")
    yield case("unknown-top-level", "unknown_field", {**ok, "isAdmin": True}, "isAdmin")
    yield case("unknown-in-context", "unknown_field",
               with_value(ok, ("context", "query"), "MATCH (n) RETURN n"), "context.query")
    yield case("unit-parsec", "bad_choice", with_value(ok, ("targetUnit",), "parsec"), "targetUnit")
    yield case("unit-upper-case", "bad_choice", with_value(ok, ("targetUnit",), "KG"), "targetUnit")
    yield case("version-v2", "bad_choice", with_value(ok, ("config", "version"), "v2"),
               "config.version")
    yield case("user-request-2001-chars", "oversized_field",
               with_value(ok, ("userRequest",), "x" * 2001), "userRequest")
    key = INJECTIONS[0]
    yield case("injection-costmap-key", "injection_refused",
               with_value(ok, ("context", "costMap"), {key: 1.0}), f"context.costMap.{key}.[key]")
    yield case("injection-flag-key", "injection_refused",
               with_value(ok, ("config", "flags"), {INJECTIONS[1]: True}),
               f"config.flags.{INJECTIONS[1]}.[key]")
    yield case("injection-unit", "injection_refused",
               with_value(ok, ("targetUnit",), INJECTIONS[1]), "targetUnit")


def _run_cases() -> Iterator[Case]:
    counter = iter(range(10_000))

    def run(**kw: Any) -> dict[str, Any]:
        return base_run(f"run-hostile-{next(counter):04d}", **kw)

    def case(id_: str, category: str, doc: dict[str, Any] | bytes, field_: str | None,
             **kw: Any) -> Case:
        body = doc if isinstance(doc, bytes) else dumps(doc)
        return Case(f"runs-{id_}", category, RUNS, body, field=field_, **kw)

    wrong_types: list[tuple[Path, Any]] = [
        (("metadata",), "run-1"), (("metadata", "id"), 7), (("metadata", "status"), True),
        (("metadata", "totalDuration"), "12.5"), (("metadata", "timestamp"), "yesterday"),
        (("metadata", "configSnapshot"), []), (("request",), "lemon vinaigrette"),
        (("recipe",), []), (("recipe", "ingredients"), {"0": {}}),
        (("recipe", "ingredients", 0), "salt"), (("recipe", "totalPercentage"), "100"),
        (("calculation", "scaledIngredients", 0, "scaledQuantity"), "1.5"),
        (("calculation", "costs", "total"), None), (("graph", "nodes"), {}),
        (("graph", "cypherCommands", 0), 42), (("graph", "cypherCommands", 0, "parameters"), []),
        (("validation", "valid"), "maybe"), (("validation", "checks"), ["percentage_total"]),
        (("agentHistory",), {}), (("agentHistory", 0, "sequence"), 1.5),
        (("agentHistory", 0, "sequence"), "1"), (("agentHistory", 0, "duration"), False),
        (("uiConfig", "components", 0, "position", "row"), "0"),
        (("uiConfig", "layout"), "grid"),
    ]
    for i, (path, value) in enumerate(wrong_types):
        yield case(f"wrong-type-{i:02d}-{path_str(path)}", "wrong_type",
                   with_value(run(), path, value), path_str(path))

    missing: list[Path] = [
        ("metadata",), ("request",), ("metadata", "id"), ("metadata", "status"),
        ("metadata", "totalDuration"), ("metadata", "timestamp"), ("request", "userRequest"),
        ("recipe", "id"), ("recipe", "name"), ("recipe", "ingredients"),
        ("recipe", "totalPercentage"), ("recipe", "ingredients", 0, "id"),
        ("recipe", "ingredients", 0, "name"), ("recipe", "ingredients", 0, "percentage"),
        ("calculation", "recipeId"), ("calculation", "costs"), ("calculation", "yield"),
        ("calculation", "timestamp"), ("calculation", "scaledIngredients", 0, "scaledQuantity"),
        ("graph", "nodes"), ("graph", "edges"), ("graph", "cypherCommands"),
        ("validation", "summary"), ("validation", "checks"), ("uiConfig", "layout"),
        ("uiConfig", "components", 0, "position"), ("agentHistory", 0, "agent"),
    ]
    for path in missing:
        yield case(f"missing-{path_str(path)}", "missing_field", without(run(), path),
                   path_str(path))

    pct = ("recipe", "ingredients", 3, "percentage")
    for value in (-4, -0.0001, 100.01, 1e6):
        yield case(f"percentage-{value}", "percentage_range", with_value(run(), pct, value),
                   path_str(pct))
    scaled_pct = ("calculation", "scaledIngredients", 2, "percentage")
    loss = ("calculation", "yield", "lossPercentage")
    yield case("scaled-percentage-101", "percentage_range", with_value(run(), scaled_pct, 101),
               path_str(scaled_pct))
    yield case("loss-percentage-150", "percentage_range", with_value(run(), loss, 150),
               path_str(loss))
    yield case("loss-percentage-negative", "percentage_range", with_value(run(), loss, -1),
               path_str(loss))
    for i, (path, value) in enumerate([(pct, "12.5"), (pct, "50%"), (pct, ""),
                                       (scaled_pct, "12.5"), (loss, "0")]):
        yield case(f"percentage-string-{i}-{path_str(path)}", "percentage_string",
                   with_value(run(), path, value), path_str(path))

    def more_ingredients(doc: dict[str, Any], n: int, where: str) -> dict[str, Any]:
        extra = [{"id": f"ing-extra-{i:03d}", "name": f"Extra {i}", "percentage": 0.0}
                 for i in range(n)]
        if where == "recipe":
            doc["recipe"]["ingredients"] += extra
        else:
            doc["calculation"]["scaledIngredients"] += [
                {"ingredientId": e["id"], "name": e["name"], "percentage": 0.0,
                 "scaledQuantity": 0.0, "scaledUnit": "kg"} for e in extra]
        return doc

    yield case("21-ingredients", "ingredient_count",
               more_ingredients(run(ingredients=20), 1, "recipe"), "recipe.ingredients")
    yield case("21-scaled-ingredients", "ingredient_count",
               more_ingredients(run(ingredients=20), 1, "calculation"),
               "calculation.scaledIngredients")
    yield case("100-ingredients", "ingredient_count",
               more_ingredients(run(ingredients=20), 80, "recipe"), "recipe.ingredients")
    yield case("0-ingredients", "ingredient_count",
               with_value(run(), ("recipe", "ingredients"), []), "recipe.ingredients")

    doc = run()
    doc["recipe"]["ingredients"][5]["id"] = doc["recipe"]["ingredients"][0]["id"]
    yield case("duplicate-ingredient-id", "duplicate_ids", doc, "recipe.ingredients[5].id")
    doc = run()
    scaled = doc["calculation"]["scaledIngredients"]
    scaled[3]["ingredientId"] = scaled[1]["ingredientId"]
    yield case("duplicate-scaled-ingredient-id", "duplicate_ids", doc,
               "calculation.scaledIngredients[3].ingredientId")
    doc = run()
    doc["graph"]["nodes"][2]["id"] = doc["graph"]["nodes"][1]["id"]
    yield case("duplicate-graph-node-id", "duplicate_ids", doc, "graph.nodes[2].id")
    doc = run()
    doc["agentHistory"][1]["sequence"] = doc["agentHistory"][0]["sequence"]
    yield case("duplicate-agent-sequence", "duplicate_ids", doc, "agentHistory[1].sequence")

    for name, path, literal in [
        ("nan-total-duration", ("metadata", "totalDuration"), "NaN"),
        ("infinity-percentage", pct, "Infinity"),
        ("nan-percentage", pct, "NaN"),
        ("minus-infinity-cost", ("calculation", "costs", "total"), "-Infinity"),
        ("overflow-scaled-quantity", ("calculation", "scaledIngredients", 0, "scaledQuantity"),
         "1e999"),
        ("nan-in-recipe-metadata", ("recipe", "metadata", "note"), "NaN"),
        ("infinity-in-node-properties", ("graph", "nodes", 0, "properties", "weight"),
         "Infinity"),
        ("nan-in-cypher-parameters", ("graph", "cypherCommands", 0, "parameters", "id"), "NaN"),
        ("nan-as-component-data", ("uiConfig", "components", 0, "data"), "NaN"),
        ("nested-infinity-in-layout", ("uiConfig", "layout", "columns"), "[1, {\"w\": -Infinity}]"),
        ("overflow-in-config-snapshot", ("metadata", "configSnapshot", "note"), "-1e400"),
    ]:
        expected = path_str(path)
        if name == "nested-infinity-in-layout":
            expected += "[1].w"
        yield case(name, "nan_infinity", with_literal(run(), path, literal), expected)

    for name, path, literal, expected in [
        ("sequence-2-to-the-70", ("agentHistory", 0, "sequence"), str(2**70), None),
        ("position-row-10-to-the-30", ("uiConfig", "components", 0, "position", "row"),
         "1" + "0" * 30, None),
        ("total-duration-1e400", ("metadata", "totalDuration"), "1e400", None),
        ("5000-digit-int-in-metadata", ("recipe", "metadata", "note"), "9" * 5000,
         "not valid JSON"),
        ("5000-digit-percentage", pct, "1" + "0" * 4999 + ".5", "not valid JSON"),
    ]:
        yield case(name, "huge_numbers", with_literal(run(), path, literal),
                   None if expected else path_str(path), says=expected)

    for name, path, value in [
        ("status-exploded", ("metadata", "status"), "exploded"),
        ("agent-mallory", ("agentHistory", 0, "agent"), "Mallory"),
        ("calculation-unit-parsec", ("calculation", "targetUnit"), "parsec"),
        ("currency-lower-case", ("calculation", "costs", "currency"), "usd"),
        ("naive-timestamp", ("metadata", "timestamp"), "2026-11-26T12:00:00"),
        ("impossible-date", ("calculation", "timestamp"), "2026-13-45T25:61:00Z"),
        ("position-width-13", ("uiConfig", "components", 0, "position", "width"), 13),
        ("severity-fatal", ("validation", "warnings", 0, "severity"), "fatal"),
    ]:
        yield case(name, "bad_choice", with_value(run(), path, value), path_str(path))

    yield case("calculation-without-recipe", "inconsistent", without(run(), ("recipe",)),
               "calculation")
    yield case("succeeded-without-ui-config", "inconsistent", without(run(), ("uiConfig",)),
               "metadata.status")
    yield case("failed-agent-on-success", "inconsistent",
               with_value(run(), ("metadata", "failedAgent"), "QAValidator"),
               "metadata.failedAgent")
    yield case("edge-to-unknown-node", "inconsistent",
               with_value(run(), ("graph", "edges", 0, "target"), "node-nowhere"),
               "graph.edges[0].target")
    yield case("recipe-id-mismatch", "inconsistent",
               with_value(run(), ("calculation", "recipeId"), "recipe-other"),
               "calculation.recipeId")
    doc = run()
    doc["metadata"]["replayOf"] = doc["metadata"]["id"]
    yield case("replay-of-itself", "inconsistent", doc, "metadata.replayOf")

    for name, path, value in [
        ("unknown-top-level", ("isAdmin",), True),
        ("unknown-in-metadata", ("metadata", "executeCypher"), True),
        ("unknown-in-ingredient", ("recipe", "ingredients", 0, "secret"), "x"),
        ("labels-on-graph-node", ("graph", "nodes", 0, "labels"), ["Pwned"]),
        ("relationship-type-override", ("graph", "edges", 0, "relType"), "PWNED"),
    ]:
        yield case(name, "unknown_field", with_value(run(), path, value), path_str(path))

    for name, path, value in [
        ("recipe-name-201-chars", ("recipe", "name"), "n" * 201),
        ("user-request-2001-chars", ("request", "userRequest"), "u" * 2001),
        ("cypher-statement-20001-chars", ("graph", "cypherCommands", 0, "statement"),
         "RETURN 1 " + "/" * 19_992),
        ("run-id-129-chars", ("metadata", "id"), "r" * 129),
    ]:
        yield case(name, "oversized_field", with_value(run(), path, value), path_str(path))

    # 600 failed attempts at RecipeEngineer before its success (retries): a valid contract,
    # but 1,200+ graph elements (design section 7).
    doc = run()
    first = doc["agentHistory"][0]
    retries = [{**first, "status": "failed", "error": "timed out", "sequence": s}
               for s in range(1, 601)]
    doc["agentHistory"] = retries + [{**e, "sequence": e["sequence"] + 600}
                                     for e in doc["agentHistory"]]
    parse_run_result(doc)  # valid, or the case tests the wrong thing
    yield case("write-set-over-500-elements", "write_set_limit", doc, None, status=422,
               says="over the limit of 500")

    # Timestamps UTC cannot hold (years 1 to 9999 once converted): refused at their field.
    for name, path, value in [
        ("run-started-year-10000-in-utc", ("metadata", "timestamp"), "9999-12-31T22:00:00-05:00"),
        ("invocation-year-0-in-utc", ("agentHistory", 2, "timestamp"),
         "0001-01-01T03:00:00+05:00"),
        ("calculation-year-10000-in-utc", ("calculation", "timestamp"),
         "9999-12-31T23:59:59-00:01"),
        ("validation-year-0-in-utc", ("validation", "timestamp"), "0001-01-01T00:00:00+00:01"),
    ]:
        yield case(name, "utc_range", with_value(run(), path, value), path_str(path),
                   says="cannot be represented in UTC")

    # Every word of the URL space: a run under it could not be read back.
    for word in sorted(RESERVED_RUN_IDS):
        yield case(f"run-id-reserved-{word}", "reserved_id",
                   with_value(run(), ("metadata", "id"), word), "metadata.id", says="reserved")

    # Records that would lie: status, agentHistory, failedAgent and outputRef contradicting.
    doc = run()
    doc["agentHistory"] = []
    yield case("succeeded-with-no-history", "inconsistent", doc, "agentHistory")
    doc = run()
    doc["agentHistory"][-1].update(status="failed", error="boom")
    yield case("succeeded-last-invocation-failed", "inconsistent", doc, "metadata.status")
    yield case("failed-every-stage-succeeded", "inconsistent",
               with_value(run(), ("metadata", "status"), "failed"), "metadata.status")
    doc = run()
    doc["agentHistory"][1]["agent"], doc["agentHistory"][2]["agent"] = (
        doc["agentHistory"][2]["agent"], doc["agentHistory"][1]["agent"])
    yield case("stages-out-of-order", "inconsistent", doc, "agentHistory[1].agent")
    doc = run()
    doc["agentHistory"][1]["outputRef"] = output_ref(doc["recipe"])
    yield case("output-ref-of-another-artifact", "inconsistent", doc,
               "agentHistory[1].outputRef", says="hashes to")
    doc = run()
    doc["agentHistory"][1]["outputRef"] = "sha256:" + "0" * 64
    yield case("output-ref-made-up", "inconsistent", doc, "agentHistory[1].outputRef")

    _, refused = injection_split(INJECTIONS[0])
    for i, (schema_field, (path, named)) in enumerate(sorted(refused.items())):
        yield case(f"injection-{i:02d}-{schema_field}", "injection_refused",
                   with_value(run(), path, INJECTIONS[i % len(INJECTIONS)]), named)
    for name, obj, key in [("cost-key", ("calculation", "costs", "byIngredient"), INJECTIONS[0]),
                           ("check-key", ("validation", "checks"), INJECTIONS[3])]:
        doc = run()
        _parent(doc, (*obj, "x"))[key] = 1.0 if name == "cost-key" else {"passed": True}
        yield case(f"injection-{name}", "injection_refused", doc,
                   f"{path_str(obj)}.{key}.[key]")


def _body_cases() -> Iterator[Case]:
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def raw(id_: str, category: str, endpoint: str, body: bytes, **kw: Any) -> Case:
        short = "requests" if endpoint == REQUESTS else "runs"
        return Case(f"{short}-{id_}", category, endpoint, body, **kw)

    for endpoint in (REQUESTS, RUNS):
        valid = dumps(base_input() if endpoint == REQUESTS else base_run())
        # --- size: 413 before the body is read ---
        big = {**base_input(), "userRequest": "x" * TEN_MB} if endpoint == REQUESTS else \
            with_value(base_run(), ("recipe", "metadata", "padding"), "x" * TEN_MB)
        yield raw("10-mb-json", "body_size", endpoint, dumps(big), status=413,
                  says="larger than")
        yield raw("10-mb-brackets", "body_size", endpoint, b"[" * TEN_MB, status=413,
                  says="larger than")
        yield raw("limit-plus-one", "body_size", endpoint,
                  valid[:-1] + b" " * (limit + 1 - len(valid)) + b"}", status=413,
                  says="larger than")
        # --- nesting beyond the parser's recursion limit ---
        deep = 100_000
        yield raw("deep-arrays-at-root", "deep_nesting", endpoint, b"[" * deep + b"]" * deep,
                  says="recursion limit")
        yield raw("deep-objects-at-root", "deep_nesting", endpoint,
                  b'{"a":' * deep + b"1" + b"}" * deep, says="recursion limit")
        where = b'"userRequest": ' if endpoint == REQUESTS else b'"metadata": {"domain"'
        for depth in (300, 5000):
            nested = b"[" * depth + b"1" + b"]" * depth
            if endpoint == REQUESTS:
                body = valid.replace(where, where + nested + b', "x": ', 1)
            else:
                body = valid.replace(where, b'"metadata": {"deep": ' + nested + b', "domain"', 1)
            yield raw(f"deep-{depth}-inside", "deep_nesting", endpoint, body,
                      says="recursion limit")
        # --- not UTF-8 ---
        text = b'"lemon vinaigrette, 5 kg"' if endpoint == REQUESTS else b'"recipe note"'
        for name, bad in [("ff-byte", b'"lemon \xff\xfe"'), ("truncated-sequence", b'"lemon \xc3"'),
                          ("overlong-slash", b'"lemon \xc0\xaf"'),
                          ("cesu-surrogate", b'"lemon \xed\xa0\x80"'),
                          ("latin-1", b'"citron pr\xe9cis"'),
                          ("lone-continuation", b'"lemon \x80"'),
                          ("escaped-lone-surrogate", b'"lemon \\ud800"'),
                          ("escaped-low-surrogate", b'"lemon \\udc00 x"')]:
            assert text in valid
            yield raw(f"utf8-{name}", "invalid_utf8", endpoint, valid.replace(text, bad, 1),
                      says="not valid JSON")
        yield raw("utf16-body", "invalid_utf8", endpoint, valid.decode().encode("utf-16"),
                  says="not valid JSON")
        # --- malformed JSON and wrong roots ---
        for name, body, says in [
            ("truncated", valid[: len(valid) // 2], "not valid JSON"),
            ("trailing-garbage", valid + b" MATCH (n) DETACH DELETE n", "not valid JSON"),
            ("single-quotes", valid.replace(b'"', b"'"), "not valid JSON"),
            ("comment", b"// MATCH (n) DETACH DELETE n\n" + valid, "not valid JSON"),
            ("two-objects", valid + valid, "not valid JSON"),
            ("empty", b"", "empty"),
            ("whitespace-only", b" \n\t ", "empty"),
            ("root-array", b"[" + valid + b"]", "must be a JSON object"),
            ("root-string", json.dumps(valid.decode()).encode(), "must be a JSON object"),
            ("root-null", b"null", "must be a JSON object"),
            ("root-number", b"42", "must be a JSON object"),
        ]:
            yield raw(f"malformed-{name}", "malformed_json", endpoint, body, says=says)
        # --- not declared as JSON ---
        for name, content_type in [("text-plain", "text/plain"),
                                   ("form", "application/x-www-form-urlencoded"),
                                   ("xml", "application/xml"),
                                   ("multipart", "multipart/form-data; boundary=xyz")]:
            yield raw(f"content-type-{name}", "content_type", endpoint, valid, status=415,
                      content_type=content_type, says="must be JSON")


def cases() -> list[Case]:
    """The whole hostile corpus (every case must be refused)."""
    corpus = [*_request_cases(), *_run_cases(), *_body_cases()]
    ids = [c.id for c in corpus]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return corpus


def injection_runs() -> list[InjectionRun]:
    """One valid run per injection payload: the payload in every string field the contract
    treats as free text, and as a key in every free-form object."""
    runs = []
    for i, payload in enumerate(INJECTIONS):
        accepted, _ = injection_split(payload)  # a long payload does not fit a 64-char field
        run_id = f"run-injection-{i}"
        doc = base_run(run_id)
        for path in accepted:
            _parent(doc, path)[path[-1]] = payload
        for obj in FREE_FORM_OBJECTS:
            _parent(doc, (*obj, "x"))[payload] = payload
        doc = with_output_refs(doc)
        parse_run_result(doc)  # valid, or the corpus is wrong
        runs.append(InjectionRun(f"injection-run-{i}", run_id, payload, dumps(doc),
                                 tuple(accepted)))
    return runs


def summary_by_category(corpus: list[Case]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in corpus:
        out[c.category] = out.get(c.category, 0) + 1
    return dict(sorted(out.items()))
