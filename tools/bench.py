"""Persistence benchmark (design section 7: "Persistence Transaction <= 450 ms, <= 70 MB").

Writes synthetic runs with the transactional writer and, interleaved run by run on the same
Neo4j, its floors (STYLE.md section 8): one plain `UNWIND ... CREATE` transaction of the same write
set (into throwaway `Floor*` labels with one key index each, removed afterwards), the same into
`FloorIx*` labels that carry a copy of the real schema (every uniqueness constraint, range and
full-text index on the writer's labels: the index upkeep any writer of this graph pays), and a
Bolt round trip (`RETURN 1` in a write transaction). It does so for typical runs and for
499-element runs, prints p50/p95 of each and the writer/floor ratios, the writer's own split
(mapping, blob, database) and the mapping time of a raw run against the outbox copy the writer
is given. Also the naive baseline (one
neomodel save per node and one connect per relationship). Peak memory per persist (tracemalloc)
is measured in a separate pass, with the meter's own overhead: the same writes timed with and
without tracing. Prints figures; it is not a test and never fails on a clock.
"""

from __future__ import annotations

import re
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from neo4j import Driver, ManagedTransaction

from contracts import STAGE_NAMES, RunResult, checksum
from graphstore import nodes as ogm
from graphstore.cypher import schema as schema_cypher
from graphstore.cypher.write import KEEP_PLAN
from graphstore.mapper import map_normalized_to_graph, map_run_to_graph, normalize_run
from graphstore.schema import LABEL_BY_NAME, LABELS, REL_BY_NAME, REL_TYPES
from graphstore.writer import RunWriter, WriteSummary, statement_params
from tools.synthetic import make_run

Progress = Callable[[str], None]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1] \
        if len(ordered) > 1 else ordered[0]


@dataclass
class Series:
    """Latencies (ms) of one method over one set of runs."""

    name: str
    values: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(self.values, 50)

    @property
    def p95(self) -> float:
        return percentile(self.values, 95)

    def row(self, peak_mb: float | None = None) -> str:
        peak = f"{peak_mb:>10.3f}" if peak_mb is not None else f"{'':>10}"
        return (f"  {self.name:<34} {len(self.values):>5} {self.p50:>9.2f} {self.p95:>9.2f} "
                f"{max(self.values, default=0.0):>9.2f} {peak}")


HEADER = (f"  {'method':<34} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} "
          f"{'peak MB':>10}")


# --- runs ----------------------------------------------------------------------------------------


def synthetic_runs(prefix: str, count: int, *, seed0: int = 0) -> list[RunResult]:
    """Typical runs: 6 to 14 ingredients, five agent stages, every tenth one failed."""
    now = datetime.now(UTC)
    agents = STAGE_NAMES[1:]  # a run can fail at any stage after the first
    return [
        make_run(seed0 + i, now=now, ingredients=6 + (seed0 + i) % 9, run_id=f"{prefix}-{i:05d}",
                 failed_agent=agents[(i // 10) % 4] if i % 10 == 9 else None)
        for i in range(count)
    ]


def large_runs(prefix: str, count: int, *, seed0: int = 0) -> list[RunResult]:
    """499-element runs (the largest write set allowed): 6 to 14 ingredients and a long
    agentHistory (8 nodes and 7 relationships, 2 per further ingredient, 2 per history entry)."""
    now = datetime.now(UTC)
    runs = []
    for i in range(count):
        ingredients = 6 + (seed0 + i) % 9
        runs.append(make_run(seed0 + i, now=now, ingredients=ingredients,
                             history=243 - ingredients, run_id=f"{prefix}-{i:05d}"))
    return runs


@dataclass(frozen=True)
class OutboxRun:
    """A run as the writer receives it in production: the outbox's normalized wire dict and its
    checksum (normalized once, at the boundary, outside the timed write)."""

    run: RunResult
    wire: dict[str, Any]
    checksum: str


def outbox(runs: Sequence[RunResult]) -> list[OutboxRun]:
    out = []
    for run in runs:
        wire = normalize_run(run).to_wire()
        out.append(OutboxRun(run, wire, checksum(wire)))
    return out


# --- the floor: a plain CREATE transaction of the same write set, and a Bolt round trip ---------


def _floor_label(label: str, prefix: str = "Floor") -> str:
    return f"{prefix}{label}"


def _floor_statement(prefix: str = "Floor", keyed: bool = False) -> str:
    """The floor's one statement. `keyed`: nodes keep the label's own key property (so that the
    copied schema's constraints and indexes apply), else a plain `k`."""
    def key(label: str) -> str:
        return LABEL_BY_NAME[label].key if keyed else "k"

    blocks = [
        f"CALL () {{ UNWIND $n_{label.name} AS row "
        f"CREATE (n:{_floor_label(label.name, prefix)}) "
        f"SET n = row.create, n.{key(label.name)} = row.key, n.createdAt = $now }}"
        for label in LABELS
    ] + [
        f"CALL () {{ UNWIND $r_{rel.name} AS row "
        f"MATCH (a:{_floor_label(rel.start, prefix)} {{{key(rel.start)}: row.start}}) "
        f"MATCH (b:{_floor_label(rel.end, prefix)} {{{key(rel.end)}: row.end}}) "
        f"CREATE (a)-[r:{rel.name}]->(b) SET r = row.props }}"
        for rel in REL_TYPES
    ]
    # The floor keeps its plan as the writer's statement does (cypher.write.KEEP_PLAN): both
    # are timed without the replanning a growing graph triggers.
    return KEEP_PLAN + "\n".join(blocks) + "\nRETURN 1 AS done"


FLOOR_WRITE = _floor_statement()
FLOOR_INDEXES = [f"CREATE INDEX floor_{label.name.lower()}_k IF NOT EXISTS "
                 f"FOR (n:{_floor_label(label.name)}) ON (n.k)" for label in LABELS]
FLOOR_DROP_INDEXES = [f"DROP INDEX floor_{label.name.lower()}_k IF EXISTS" for label in LABELS]

# The second floor: the same plain CREATE into labels that carry a copy of the real schema (every
# uniqueness constraint, range and full-text index of graphstore/cypher/schema.py on the
# writer's labels): what the database must do to keep those indexes is in this floor too, so
# the writer's own overhead is the difference.
_INDEXED = "FloorIx"
FLOOR_INDEXED_WRITE = _floor_statement(_INDEXED, keyed=True)
_SCHEMA_ITEM = re.compile(
    r"^CREATE (?P<kind>CONSTRAINT|INDEX|FULLTEXT INDEX) (?P<name>\w+) IF NOT EXISTS "
    r"FOR \((?P<var>\w+):(?P<label>\w+)\)(?P<rest>.*)$", re.S)


def _schema_kind(match: re.Match[str]) -> str:
    if match["kind"] == "CONSTRAINT":
        return "constraint"
    return "fulltext" if match["kind"] == "FULLTEXT INDEX" else "range"


def _indexed_schema(prefix: str = _INDEXED, kinds: frozenset[str] | None = None,
                    synchronous_fulltext: bool = False) -> tuple[list[str], list[str]]:
    """A copy of the real schema's items on the writer's labels, for `prefix`+label: all of
    them, or those of `kinds` (constraint, range, fulltext); `synchronous_fulltext`: full-text
    indexes as they were before they became eventually consistent."""
    create, drop = [], []
    writer_labels = {label.name for label in LABELS}
    for statement in schema_cypher.SCHEMA_STATEMENTS:
        m = _SCHEMA_ITEM.match(statement)
        if m is None or m["label"] not in writer_labels:
            continue
        if kinds is not None and _schema_kind(m) not in kinds:
            continue
        rest = m["rest"]
        if synchronous_fulltext:
            rest = rest.replace("`fulltext.eventually_consistent`: true",
                                "`fulltext.eventually_consistent`: false")
        name = f"{prefix.lower()}_{m['name']}"
        create.append(f"CREATE {m['kind']} {name} IF NOT EXISTS FOR "
                      f"({m['var']}:{prefix}{m['label']}){rest}")
        drop.append(f"DROP {'CONSTRAINT' if m['kind'] == 'CONSTRAINT' else 'INDEX'} {name} "
                    "IF EXISTS")
    return create, drop


FLOOR_INDEXED_SCHEMA, FLOOR_INDEXED_DROP = _indexed_schema()
FLOOR_CLEANUP = ("MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH 'Floor') "
                 "WITH n LIMIT 5000 DETACH DELETE n RETURN count(*) AS n")
ROUND_TRIP = "RETURN 1 AS one"


def floor_params(item: OutboxRun, now: datetime) -> dict[str, Any]:
    """The writer's rows for this run, keys moved into the run's own key space (shared nodes are
    created once per run here, so a relationship finds exactly its two ends)."""
    params = statement_params(map_normalized_to_graph(item.wire, checksum=item.checksum))
    own = item.run.run_id + "/"
    for label in LABELS:
        params[f"n_{label.name}"] = [{**row, "key": own + row["key"]}
                                     for row in params[f"n_{label.name}"]]
    for rel in REL_TYPES:
        params[f"r_{rel.name}"] = [{**row, "start": own + row["start"], "end": own + row["end"]}
                                   for row in params[f"r_{rel.name}"]]
    params["now"] = now
    return params


class Floor:
    """The floor's two measurements on the writer's own driver and database."""

    def __init__(self, driver: Driver, database: str) -> None:
        self._driver = driver
        self._database = database

    def setup(self) -> None:
        with self._driver.session(database=self._database) as session:
            for statement in [*FLOOR_INDEXES, *FLOOR_INDEXED_SCHEMA]:
                session.run(statement).consume()
            session.run("CALL db.awaitIndexes(300)").consume()

    def run_all(self, statements: Sequence[str]) -> None:
        with self._driver.session(database=self._database) as session:
            for statement in statements:
                session.run(statement).consume()

    def cleanup(self) -> None:
        with self._driver.session(database=self._database) as session:
            while session.run(FLOOR_CLEANUP).single(strict=True)["n"]:
                pass
            for statement in [*FLOOR_DROP_INDEXES, *FLOOR_INDEXED_DROP]:
                session.run(statement).consume()

    def create(self, params: dict[str, Any], *, statement: str = FLOOR_WRITE) -> None:
        def work(tx: ManagedTransaction) -> None:
            tx.run(statement, params).consume()

        with self._driver.session(database=self._database) as session:
            session.execute_write(work)

    def round_trip(self) -> None:
        def work(tx: ManagedTransaction) -> None:
            tx.run(ROUND_TRIP).consume()

        with self._driver.session(database=self._database) as session:
            session.execute_write(work)


# --- measurements --------------------------------------------------------------------------------


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return (time.perf_counter() - started) * 1000, value


@dataclass
class Comparison:
    """The writer beside its two floors over one set of runs, and the writer's own split."""

    title: str
    writer: Series
    floor: Series
    indexed: Series  # the same plain CREATE into labels carrying the real schema's indexes
    round_trip: Series
    mapping: Series
    blob: Series
    database: Series
    # The run's embedding, written after the run is persisted as the pipeline does
    # (RunWriter.write_embedding: the vector index's upkeep), outside the writer's figure.
    embedding: Series = field(default_factory=lambda: Series("embedding (after the write)"))

    def lines(self) -> list[str]:
        out = [f"{self.title}:", HEADER]
        out += [s.row() for s in (self.writer, self.floor, self.indexed, self.round_trip)]
        out.append(f"  writer / plain CREATE floor: p50 x{_ratio(self.writer.p50, self.floor.p50)}"
                   f", p95 x{_ratio(self.writer.p95, self.floor.p95)}")
        out.append(f"  writer / plain CREATE with the real indexes: p50 "
                   f"x{_ratio(self.writer.p50, self.indexed.p50)}, p95 "
                   f"x{_ratio(self.writer.p95, self.indexed.p95)}; the indexes cost the floor "
                   f"x{_ratio(self.indexed.p50, self.floor.p50)} at p50")
        out.append(f"  writer split p50 (p95), ms: mapping {self.mapping.p50:.2f} "
                   f"({self.mapping.p95:.2f}), blob {self.blob.p50:.2f} ({self.blob.p95:.2f}), "
                   f"database {self.database.p50:.2f} ({self.database.p95:.2f}); "
                   f"database / floor p50 x{_ratio(self.database.p50, self.floor.p50)}, / "
                   f"indexed floor x{_ratio(self.database.p50, self.indexed.p50)}")
        if self.embedding.values:
            out.append(f"  then, as the pipeline does once the run is persisted: "
                       f"{self.embedding.name} p50 {self.embedding.p50:.2f} "
                       f"(p95 {self.embedding.p95:.2f}) ms")
        return out


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


def compare(title: str, writer: RunWriter, floor: Floor, items: Sequence[OutboxRun],
            progress: Progress) -> Comparison:
    """Writer, the two floors and the round trip interleaved run by run (the three writes take
    turns to go first), so that the machine's noise falls on all alike."""
    c = Comparison(title, Series("writer (write_normalized)"),
                   Series("floor: plain UNWIND CREATE tx"),
                   Series("floor: same, real indexes"), Series("floor: Bolt round trip"),
                   Series("mapping"), Series("blob"), Series("database"))

    def plain(params: dict[str, Any]) -> None:
        c.floor.values.append(_timed(partial(floor.create, params))[0])

    def indexed(params: dict[str, Any]) -> None:
        c.indexed.values.append(_timed(partial(
            floor.create, params, statement=FLOOR_INDEXED_WRITE))[0])

    def write(item: OutboxRun) -> None:
        # As the pipeline writes (orchestration/services/persistence.py): the run, then its
        # embedding in a transaction of its own.
        ms, summary = _timed(partial(writer.write_normalized, item.wire,
                                     checksum=item.checksum, embed=False))
        assert isinstance(summary, WriteSummary)
        c.writer.values.append(ms)
        c.embedding.values.append(_timed(partial(writer.write_embedding, item.wire,
                                                 run_id=item.run.run_id))[0])
        c.mapping.values.append(summary.mapping_ms)
        c.blob.values.append(summary.blob_ms)
        c.database.values.append(summary.database_ms)

    for i, item in enumerate(items, 1):
        params = floor_params(item, datetime.now(UTC))  # built outside the floors' timing
        turns: list[Callable[[], None]] = [partial(plain, params), partial(write, item),
                                           partial(indexed, params)]
        for k in range(3):  # whoever goes first pays for a cold cache: take turns
            turns[(i + k) % 3]()
        c.round_trip.values.append(_timed(floor.round_trip)[0])
        if i % 50 == 0:
            progress(f"  {title}: {i}/{len(items)}")
    return c


# --- the floor ladder: what each kind of schema item costs the same plain CREATE ----------------

LADDER: tuple[tuple[str, str, frozenset[str] | None, bool], ...] = (
    # (what the labels carry, label prefix, schema kinds copied (None: a key index each), sync)
    ("a key index per label", "FloorLa", None, False),
    ("+ the uniqueness constraints", "FloorLb", frozenset({"constraint"}), False),
    ("+ the range indexes", "FloorLc", frozenset({"constraint", "range"}), False),
    ("+ full-text, synchronous", "FloorLd", frozenset({"constraint", "range", "fulltext"}), True),
    ("+ full-text, eventually consistent", "FloorLe",
     frozenset({"constraint", "range", "fulltext"}), False),
)


def _ladder_schema() -> tuple[list[str], list[str]]:
    create, drop = [], []
    for _, prefix, kinds, sync in LADDER:
        if kinds is None:
            create += [f"CREATE INDEX {prefix.lower()}_{label.name.lower()} IF NOT EXISTS FOR "
                       f"(n:{prefix}{label.name}) ON (n.{label.key})" for label in LABELS]
            drop += [f"DROP INDEX {prefix.lower()}_{label.name.lower()} IF EXISTS"
                     for label in LABELS]
        else:
            c, d = _indexed_schema(prefix, kinds, synchronous_fulltext=sync)
            create, drop = create + c, drop + d
    return create, drop


def ladder(floor: Floor, items: Sequence[OutboxRun], progress: Progress) -> list[Series]:
    """The same plain CREATE of each run's write set into the ladder's labels, one step of the
    real schema added per rung, interleaved run by run (rungs take turns going first)."""
    create, drop = _ladder_schema()
    floor.run_all(create + ["CALL db.awaitIndexes(300)"])
    rungs = [(Series(what), _floor_statement(prefix, keyed=True))
             for what, prefix, _, _ in LADDER]
    try:
        for i, item in enumerate(items, 1):
            params = floor_params(item, datetime.now(UTC))
            for k in range(len(rungs)):
                series, statement = rungs[(i + k) % len(rungs)]
                series.values.append(_timed(partial(floor.create, params,
                                                    statement=statement))[0])
            if i % 50 == 0:
                progress(f"  floor ladder: {i}/{len(items)}")
    finally:
        floor.cleanup()
        floor.run_all(drop)
    return [series for series, _ in rungs]


def mapping_times(title: str, items: Sequence[OutboxRun]) -> tuple[Series, Series]:
    """Mapping a raw run (normalized, validated, hashed) against mapping the outbox copy."""
    raw = Series(f"{title}: map_run_to_graph(run)")
    outboxed = Series(f"{title}: map_normalized_to_graph")
    for item in items:
        raw.values.append(_timed(partial(map_run_to_graph, item.run))[0])
        outboxed.values.append(_timed(partial(map_normalized_to_graph, item.wire,
                                              checksum=item.checksum))[0])
    return raw, outboxed


@dataclass(frozen=True)
class MemoryFigures:
    untraced: Series  # the same kind of writes, timed without tracing
    traced: Series  # timed with tracemalloc on
    peak_mb: float  # largest tracemalloc peak of one write


def memory_pass(writer: RunWriter, plain: Sequence[OutboxRun], traced: Sequence[OutboxRun]
                ) -> MemoryFigures:
    """Peak memory per write (tracemalloc), and the meter's overhead: pairs of equal runs
    (same content, other runId) written one untraced, one traced, interleaved."""
    untraced_s, traced_s, peaks = Series("write, untraced"), Series("write, tracemalloc on"), []
    for a, b in zip(plain, traced, strict=True):
        untraced_s.values.append(
            _timed(partial(writer.write_normalized, a.wire, checksum=a.checksum, embed=False))[0])
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            traced_s.values.append(_timed(partial(
                writer.write_normalized, b.wire, checksum=b.checksum, embed=False))[0])
            peaks.append((tracemalloc.get_traced_memory()[1] - base) / 2**20)
        finally:
            tracemalloc.stop()
    return MemoryFigures(untraced_s, traced_s, max(peaks, default=0.0))


# --- the naive baseline: one neomodel round trip per node and relationship --------------------

_CLASSES = {cls.__label__: cls for cls in ogm.NODE_CLASSES}
_RELATION = {  # relationship type -> (start class, manager attribute)
    "TRIGGERED": (ogm.UserRequest, "runs"),
    "USED_RECIPE": (ogm.OrchestrationRun, "recipe"),
    "HAS_INGREDIENT": (ogm.RecipeVersion, "ingredients"),
    "PRODUCED_CALCULATION": (ogm.OrchestrationRun, "calculation"),
    "PRODUCED_GRAPH": (ogm.OrchestrationRun, "graph"),
    "PRODUCED_VALIDATION": (ogm.OrchestrationRun, "validation"),
    "PRODUCED_UI": (ogm.OrchestrationRun, "ui_config"),
    "HAS_AGENT_INVOCATION": (ogm.OrchestrationRun, "invocations"),
}


# Graph properties whose OGM attribute has another name (see graphstore/nodes.py).
_ATTRIBUTE = {("CalculationResult", "yield"): "yield_", ("GraphSnapshot", "nodes"): "nodes_json"}


def naive_persist(run: RunResult) -> None:
    """The same write set, saved node by node and connected relationship by relationship
    (no single transaction: a failure half-way leaves a partial run, which is the point)."""
    ws = map_run_to_graph(run)
    saved: dict[tuple[str, str], Any] = {}
    for node in ws.nodes:
        cls = _CLASSES[node.label]
        props = {_ATTRIBUTE.get((node.label, k), k): v for k, v in node.on_create.items()}
        props[LABEL_BY_NAME[node.label].key] = node.key
        saved[(node.label, node.key)] = cls.create_or_update(props)[0]
    for rel in ws.relationships:
        rtype = REL_BY_NAME[rel.type]
        start_cls, attr = _RELATION[rel.type]
        start = saved[(rtype.start, rel.start)]
        end = saved[(rtype.end, rel.end)]
        manager = getattr(start, attr)
        manager.connect(end, dict(rel.properties) or None)


def naive_pass(runs: Sequence[RunResult], traced: Sequence[RunResult]) -> tuple[Series, float]:
    timed = Series("naive (neomodel)")
    for run in runs:
        timed.values.append(_timed(partial(naive_persist, run))[0])
    peaks = []
    tracemalloc.start()
    try:
        for run in traced:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            naive_persist(run)
            peaks.append((tracemalloc.get_traced_memory()[1] - base) / 2**20)
    finally:
        tracemalloc.stop()
    return timed, max(peaks, default=0.0)


# --- the whole benchmark -------------------------------------------------------------------------


@dataclass
class Report:
    typical: Comparison
    large: Comparison | None
    mapping: list[tuple[Series, Series]]
    memory: MemoryFigures
    naive: tuple[Series, float] | None
    ladder: list[Series] | None = None

    def lines(self) -> list[str]:
        out = self.typical.lines()
        if self.large is not None:
            out += self.large.lines()
        if self.ladder:
            bottom = self.ladder[0].p50
            out.append("floor ladder (the same plain CREATE of typical runs; what the labels "
                       "carry, one rung after another):")
            out.append(HEADER)
            out += [f"{rung.row()}  x{_ratio(rung.p50, bottom)}" for rung in self.ladder]
        out.append("mapping (pure, same runs): raw run (validated, normalized, hashed) vs the "
                   "outbox copy the writer is given:")
        out.append(HEADER)
        for raw, outboxed in self.mapping:
            out += [raw.row(), outboxed.row()]
        m = self.memory
        out.append("memory (separate pass, pairs of equal typical runs, one traced one not):")
        out.append(HEADER)
        out += [m.untraced.row(), m.traced.row(m.peak_mb)]
        out.append(f"  meter overhead: p50 x{_ratio(m.traced.p50, m.untraced.p50)} "
                   f"(+{m.traced.p50 - m.untraced.p50:.2f} ms), p95 "
                   f"x{_ratio(m.traced.p95, m.untraced.p95)}; durations above are untraced")
        if self.naive is not None:
            naive, peak = self.naive
            out.append("naive baseline:")
            out.append(HEADER)
            out.append(naive.row(peak))
            w = self.typical.writer
            out.append(f"  naive / writer (typical): p50 x{_ratio(naive.p50, w.p50)}, "
                       f"p95 x{_ratio(naive.p95, w.p95)}")
        w = self.typical.writer
        out.append(f"targets: writer p95 <= 45 ms ({'met' if w.p95 <= 45 else 'NOT met'}), peak "
                   f"<= 20 MB ({'met' if m.peak_mb <= 20 else 'NOT met'}), writer/floor p50 <= "
                   f"1.15 (typical x{_ratio(w.p50, self.typical.floor.p50)}"
                   + (f", large x{_ratio(self.large.writer.p50, self.large.floor.p50)}"
                      if self.large is not None else "")
                   + f"; against the indexed floor: typical "
                   f"x{_ratio(w.p50, self.typical.indexed.p50)}"
                   + (f", large x{_ratio(self.large.writer.p50, self.large.indexed.p50)}"
                      if self.large is not None else "")
                   + "); design budget 450 ms / 70 MB")
        return out


def run_benchmark(writer: RunWriter, driver: Driver, database: str, *, runs: int,
                  large: int, naive_runs: int, traced_runs: int, progress: Progress,
                  ladder_runs: int = 0) -> Report:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    floor = Floor(driver, database)
    floor.cleanup()  # what an interrupted earlier run may have left
    floor.setup()
    try:
        warm = outbox(synthetic_runs(f"bench-{stamp}-warm", 10, seed0=900_000)
                      + large_runs(f"bench-{stamp}-warml", 3, seed0=910_000))
        compare("warm-up", writer, floor, warm, lambda s: None)  # plans compiled, pool filled
        typical_runs = outbox(synthetic_runs(f"bench-{stamp}-tx", runs))
        typical = compare(f"typical runs ({runs})", writer, floor, typical_runs, progress)
        big = None
        large_set: list[OutboxRun] = []
        if large:
            large_set = outbox(large_runs(f"bench-{stamp}-large", large, seed0=700_000))
            big = compare(f"499-element runs ({large})", writer, floor, large_set, progress)
    finally:
        floor.cleanup()
    rungs = None
    if ladder_runs:
        rungs = ladder(floor, outbox(synthetic_runs(f"bench-{stamp}-ladder", ladder_runs,
                                                    seed0=800_000)), progress)
    mapping = [mapping_times("typical", typical_runs)]
    if large_set:
        mapping.append(mapping_times("499-element", large_set))
    memory = memory_pass(
        writer, outbox(synthetic_runs(f"bench-{stamp}-mu", traced_runs, seed0=500_000)),
        outbox(synthetic_runs(f"bench-{stamp}-mt", traced_runs, seed0=500_000)))
    naive = None
    if naive_runs:
        naive = naive_pass(synthetic_runs(f"bench-{stamp}-naive", naive_runs),
                           synthetic_runs(f"bench-{stamp}-naivem", min(traced_runs, naive_runs),
                                          seed0=600_000))
    return Report(typical, big, mapping, memory, naive, rungs)
