"""The Cypher package: fixed, parameterised statements built from the schema tables and codecs;
and no Cypher anywhere else in graphstore/ or orchestration/."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphstore.codecs import (
    AgentInvocationCodec,
    GraphSnapshotCodec,
    ValidationReportCodec,
)
from graphstore.cypher import (
    admin,
    analytics,
    blob_gc,
    migrate,
    read,
    retention,
    retrieval,
    schema,
    write,
)
from graphstore.schema import FULLTEXT_INDEXES, LABELS, REL_TYPES, VECTOR_INDEX

ROOT = Path(__file__).resolve().parents[4]
MODULES = (write, read, retention, analytics, retrieval, admin, blob_gc, schema, migrate)
CYPHER = re.compile(r"\b(MATCH|MERGE|UNWIND|RETURN|DETACH DELETE|REMOVE [a-z]+\.|"
                    r"CREATE (CONSTRAINT|INDEX|FULLTEXT)|CALL (db|dbms|apoc)\.)")
# Every literal that may appear inside a statement: fixed vocabulary, never data.
LITERALS = {"failed", "skipped", "succeeded", "warnings", "UTC", ".", "[", "]", "[*]", "request",
            "recipe", "ingredient", "english", *(ix.name for ix in FULLTEXT_INDEXES),
            VECTOR_INDEX.name, "cosine"}


def statements() -> Iterator[tuple[str, str]]:
    """(module.NAME, text) of every statement constant of the package."""
    for module in MODULES:
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and CYPHER.search(value):
                yield f"{module.__name__}.{name}", value
            elif name.isupper() and isinstance(value, tuple | dict):
                items = value.values() if isinstance(value, dict) else value
                for i, text in enumerate(items):
                    if isinstance(text, str) and CYPHER.search(text):
                        yield f"{module.__name__}.{name}[{i}]", text


STATEMENTS = dict(statements())


def test_the_package_holds_the_statements_of_every_concern():
    """Every concern's module contributes statements."""
    assert {name.rsplit(".", 1)[0].rsplit(".", 1)[-1] for name in STATEMENTS} == {
        "write", "read", "retention", "analytics", "retrieval", "admin", "blob_gc", "schema",
        "migrate"}
    assert len(STATEMENTS) > 40


FULLTEXT_READS = sorted(name for name, text in STATEMENTS.items()
                        if "db.index.fulltext.query" in text)


def test_some_statements_read_the_full_text_indexes():
    assert FULLTEXT_READS  # the next test would pass vacuously otherwise


@pytest.mark.parametrize("name", FULLTEXT_READS)
def test_every_full_text_read_waits_for_the_eventually_consistent_indexes(name):
    """The full-text indexes are eventually consistent (schema.FULLTEXT_CONFIG): a statement
    that queries one starts by waiting for their updates, so that a committed run is found."""
    assert schema.FULLTEXT_CONFIG["fulltext.eventually_consistent"] is True
    assert STATEMENTS[name].startswith(retrieval.FULLTEXT_FRESH + "\n")


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_statement_is_parameterised(name):
    """Values travel as $parameters: the only quoted literals are a fixed vocabulary, and no
    format placeholder is left unfilled."""
    text = STATEMENTS[name]
    assert not re.search(r"\{[a-z_]+\}", text), "an unfilled placeholder"
    assert '"' not in text, "a double-quoted literal"
    literals = set(re.findall(r"'([^']*)'", text))
    assert literals <= LITERALS, literals - LITERALS


def test_statements_are_fixed_text():
    """Re-building the package gives the very same statements (nothing varies per import)."""
    again = {name: text for name, text in statements()}
    for module in MODULES:
        importlib.reload(module)
    assert dict(statements()) == again


def test_retention_removes_exactly_the_codec_details():
    """Condensing removes the properties the codecs mark as details, and plans with them."""
    for var, codec in (("g", GraphSnapshotCodec), ("v", ValidationReportCodec),
                       ("a", AgentInvocationCodec)):
        removed = "REMOVE " + ", ".join(f"{var}.{name}" for name in codec.details())
        assert removed in retention.APPLY
    assert "v.errorAgents IS NOT NULL" in retention.PLAN
    assert "g.cypherCommands IS NOT NULL" in retention.PLAN


def test_analytics_reads_issue_lists_not_json_text():
    """Validation analytics read the stored issue lists; nothing splits JSON text."""
    for text in analytics.VALIDATION_ISSUES.values():
        assert "v.errorAgents" in text
        assert "v.warningFields" in text
        assert '{"agent"' not in text
        assert "v.errors " not in text


SCOPED = {"analytics.RUN_TOTALS": analytics.RUN_TOTALS,
          "analytics.AGENT_STATS": analytics.AGENT_STATS,
          "analytics.BUDGET_BREACHES": analytics.BUDGET_BREACHES,
          "analytics.BUDGET_BREACHES_BY_DAY": analytics.BUDGET_BREACHES_BY_DAY,
          "analytics.TOP_INGREDIENTS": analytics.TOP_INGREDIENTS,
          "analytics.COST_PER_RECIPE_DAY": analytics.COST_PER_RECIPE_DAY,
          "analytics.VALIDATION_TOTALS": analytics.VALIDATION_TOTALS,
          "analytics.VALIDATION_ISSUES": analytics.VALIDATION_ISSUES,
          "retrieval.SIMILAR_RUNS": retrieval.SIMILAR_RUNS}


@pytest.mark.parametrize("name", sorted(SCOPED))
def test_every_read_over_many_runs_comes_in_both_scopes(name):
    """Each analytics and similar-runs statement has an "all" text without an owner filter and
    an "owned" text that differs from it only by keeping the runs whose ownerId is $ownerId (a
    parameter); nothing else in either text names an owner."""
    variants = SCOPED[name]
    assert set(variants) == {"all", "owned"}
    assert "ownerId" not in variants["all"]
    owned = variants["owned"]
    assert owned.count("ownerId") == 2 and owned.count("r.ownerId = $ownerId") == 1
    if name.startswith("analytics."):  # the owner's runs are found through the composite index
        assert owned.startswith("MATCH (r:OrchestrationRun)\nWHERE r.ownerId = $ownerId AND "
                                "r.startedAt >= $since AND r.startedAt < $until")
        assert owned.replace("r.ownerId = $ownerId AND ", "") == variants["all"]
    else:
        assert owned.replace(" AND r.ownerId = $ownerId", "") == variants["all"]


def test_the_owner_filter_has_its_index_and_the_write_stores_the_owner():
    """The composite range index (ownerId, startedAt) is installed; the write statement sets
    the owner from $w.ownerId with the commit marker and keeps a stored one when given none."""
    assert ("CREATE INDEX orchestration_run_owner_started IF NOT EXISTS FOR "
            "(o:OrchestrationRun) ON (o.ownerId, o.startedAt)") in schema.SCHEMA_STATEMENTS
    assert "r.ownerId = coalesce($w.ownerId, r.ownerId)" in write.WRITE_RUN


def test_schema_statements_come_from_the_tables():
    """A constraint per label, a full-text index per table row, in Neo4j 5 syntax."""
    assert schema.CONSTRAINTS[0] == ("CREATE CONSTRAINT userrequest_checksum_unique IF NOT "
                                     "EXISTS FOR (n:UserRequest) REQUIRE n.checksum IS UNIQUE")
    assert len(schema.CONSTRAINTS) == len(LABELS)
    assert ("CREATE FULLTEXT INDEX cap01_recipe_name IF NOT EXISTS FOR (n:RecipeVersion) ON EACH "
            "[n.name] OPTIONS {indexConfig: {`fulltext.analyzer`: 'english', "
            "`fulltext.eventually_consistent`: true}}") in schema.SCHEMA_STATEMENTS


def test_admin_relationship_statements_cover_both_ends_of_every_type():
    """Statements per relationship type and end, ordered as the other label is listed: from the
    node (expand) or in the other label's index order (scan), each with a keyset variant."""
    assert set(admin.RELATED) == {(end, rel.name, d) for rel in REL_TYPES
                                  for d, end in (("out", rel.start), ("in", rel.end))}
    runs = admin.RELATED[("UserRequest", "TRIGGERED", "out")]
    tail = "RETURN properties(r) AS rel, m ORDER BY m.startedAt DESC, m.runId LIMIT $limit"
    node = ("MATCH (n:UserRequest {checksum: $key}) CALL (n) { MATCH (n)-[r:TRIGGERED]->"
            "(m:OrchestrationRun) RETURN r, m }")
    keyset = ("m.startedAt <= $after[0] AND CASE WHEN m.startedAt = $after[0] "
              "THEN m.runId > $after[1] ELSE true END")
    assert runs.expand == f"{node} {tail}"
    assert runs.expand_after == f"{node} WITH r, m WHERE {keyset} {tail}"
    assert runs.scan_after == (
        "MATCH (m:OrchestrationRun) USING INDEX m:OrchestrationRun(startedAt) WHERE "
        f"m.startedAt IS NOT NULL AND {keyset} WITH m ORDER BY m.startedAt DESC, m.runId "
        "CALL (m) { MATCH (n:UserRequest {checksum: $key})-[r:TRIGGERED]->(m) RETURN r } "
        f"{tail}")
    recipes = admin.RELATED[("Ingredient", "HAS_INGREDIENT", "in")]
    assert recipes.scan_after == (
        "MATCH (m:RecipeVersion) USING INDEX m:RecipeVersion(checksum) WHERE "
        "m.checksum IS NOT NULL AND m.checksum > $after[0] WITH m ORDER BY m.checksum "
        "CALL (m) { MATCH (n:Ingredient {ingredientId: $key})<-[r:HAS_INGREDIENT]-(m) "
        "RETURN r } RETURN properties(r) AS rel, m ORDER BY m.checksum LIMIT $limit")


def test_admin_degrees_follow_the_sections():
    """A node page's totals come from degree counts, one per section, in the sections' order."""
    assert admin.sections("RecipeVersion") == (("USED_RECIPE", "in", "OrchestrationRun"),
                                               ("HAS_INGREDIENT", "out", "Ingredient"))
    assert admin.DEGREES["RecipeVersion"] == (
        "MATCH (n:RecipeVersion {checksum: $key}) RETURN [COUNT { (n)<-[:USED_RECIPE]-() }, "
        "COUNT { (n)-[:HAS_INGREDIENT]->() }] AS totals")
    for label in LABELS:
        assert {(rel, d) for rel, d, _ in admin.sections(label.name)} == {
            (rel, d) for (end, rel, d) in admin.RELATED if end == label.name}


def test_read_and_write_statements_name_every_label():
    """The write merges every label and type; replay loads every label."""
    for label in LABELS:
        assert f"MERGE (n:{label.name} " in write.WRITE_RUN
        assert f":{label.name}" in read.LOAD_RUN
    for rel in REL_TYPES:
        assert f"[r:{rel.name}]" in write.WRITE_RUN


# --- no Cypher outside graphstore/cypher/ ---------------------------------------------------------

# Agents produce cypherCommands as artifact content (stored, never executed): not our statements.
SCANNED = [p for p in sorted((ROOT / "graphstore").rglob("*.py"))
           if "cypher" not in p.relative_to(ROOT / "graphstore").parts] + [
    p for p in sorted((ROOT / "orchestration").rglob("*.py"))
    if "agents" not in p.relative_to(ROOT / "orchestration").parts]


def _literals(tree: ast.AST) -> Iterator[ast.Constant]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings):
            yield node


def test_no_cypher_outside_the_cypher_package():
    """No string literal in graphstore/ (outside graphstore/cypher/) or orchestration/ holds a
    Cypher statement."""
    assert SCANNED
    found = [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}"
             for path in SCANNED
             for node in _literals(ast.parse(path.read_text(encoding="utf-8")))
             if CYPHER.search(node.value)]
    assert not found, "Cypher belongs in graphstore/cypher/:\n" + "\n".join(found)


# Outside graphstore/cypher/, Cypher appears in these files only, each for the reason the README
# gives ("Never executed"); the statements CAP-01's apps run are all in the package.
CYPHER_ELSEWHERE = {
    "orchestration/agents/graph_builder.py": "GraphBuilder's cypherCommands: content, never run",
    "tools/synthetic.py": "the synthetic runs' cypherCommands: content, never run",
    "tools/management/commands/generate_examples.py": "an example's padded cypherCommands",
    "tools/bench.py": "the benchmark's floor (plain CREATE into throwaway Floor* labels) and "
                      "its Bolt round trip (RETURN 1)",
    "tools/management/commands/bench_persist.py": "its help text, describing that floor",
    "tools/management/commands/driver_compare.py": "deleting the driver comparison's own runs",
    "ops/neo4j/wait_ready.py": "the readiness probe of the local Neo4j (RETURN 1)",
    "tools/scale_fill.py": "wiping the test graph before the scale smoke run (--wipe)",
    "tools/scale_bench.py": "the scale benchmark's floor (RETURN 1), Neo4j's heap (JMX) and "
                            "node and relationship counts",
}


def test_cypher_elsewhere_is_only_where_the_readme_says():
    """In every Python file of the project's code (cap01, contracts, graphstore, orchestration,
    tools, ops), string literals holding Cypher outside graphstore/cypher/ are in exactly the
    files listed, each for its reason."""
    files = [p for top in ("cap01", "contracts", "graphstore", "orchestration", "tools", "ops")
             for p in sorted((ROOT / top).rglob("*.py"))
             if "cypher" not in p.relative_to(ROOT).parts[1:2]]
    found = {str(p.relative_to(ROOT)) for p in files
             if any(CYPHER.search(node.value)
                    for node in _literals(ast.parse(p.read_text(encoding="utf-8"))))}
    assert found == set(CYPHER_ELSEWHERE)


def test_the_write_arguments_carry_what_varies_in_one_map() -> None:
    """statement_args moves every row list and every nullable value into `w` (one parameter
    type for every run, failed or not, replay or not) and leaves the rest at the top; no value
    is lost or added."""
    params = {write.node_param("Ingredient"): [], write.rel_param("USED_RECIPE"): [{"start": "a"}],
              "replayOf": None, "ownerId": "u1", "embedding": None, "embeddingModel": None,
              "runId": "r", "checksum": "c", "now": "t"}
    args = write.statement_args(params)
    assert set(args) == {"runId", "checksum", "now", "w"}
    assert args["w"][write.node_param("Ingredient")] == []
    assert args["w"][write.rel_param("USED_RECIPE")] == [{"start": "a"}]
    assert args["w"]["ownerId"] == "u1" and args["w"]["replayOf"] is None
    # every row list the statement reads is present in `w`, empty when the writer had none
    assert set(write.WRITE_RUN_PARAMS) <= set(args["w"])
