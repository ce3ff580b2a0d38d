"""The benchmark's floors are built from the real schema: the indexed floor carries every schema
item on the writer's labels, and the floor ladder adds one kind of item per rung."""

from __future__ import annotations

import re

from graphstore.cypher import schema as schema_cypher
from graphstore.schema import LABELS
from tools import bench


def _for_prefix(statements: list[str], prefix: str) -> list[str]:
    return [s for s in statements if f":{prefix}" in s]


def test_the_indexed_floor_copies_every_schema_item_on_the_writers_labels() -> None:
    labels = {label.name for label in LABELS}
    real = [s for s in schema_cypher.SCHEMA_STATEMENTS
            if (m := bench._SCHEMA_ITEM.match(s)) and m["label"] in labels]
    assert len(bench.FLOOR_INDEXED_SCHEMA) == len(real) == len(bench.FLOOR_INDEXED_DROP)
    assert all(":FloorIx" in s for s in bench.FLOOR_INDEXED_SCHEMA)
    # as installed: the full-text copies are eventually consistent like the real ones
    fulltext = [s for s in bench.FLOOR_INDEXED_SCHEMA if "FULLTEXT" in s]
    assert fulltext and all("`fulltext.eventually_consistent`: true" in s for s in fulltext)


def test_each_rung_of_the_ladder_adds_one_kind_of_schema_item() -> None:
    create, drop = bench._ladder_schema()
    rungs = [_for_prefix(create, prefix) for _, prefix, _, _ in bench.LADDER]
    kinds = [{("constraint" if "CONSTRAINT" in s else "fulltext" if "FULLTEXT" in s
               else "range") for s in rung} for rung in rungs]
    assert kinds == [{"range"}, {"constraint"}, {"constraint", "range"},
                     {"constraint", "range", "fulltext"}, {"constraint", "range", "fulltext"}]
    assert len(rungs[0]) == len(LABELS)  # a key index per label
    assert all("`fulltext.eventually_consistent`: false" in s
               for s in rungs[3] if "FULLTEXT" in s)
    assert all("`fulltext.eventually_consistent`: true" in s
               for s in rungs[4] if "FULLTEXT" in s)
    assert len(drop) == len(create)
    names = {re.match(r"CREATE (?:CONSTRAINT|INDEX|FULLTEXT INDEX) (\w+) ", s)[1]  # type: ignore[index]
             for s in create}
    assert len(names) == len(create)  # every item named apart
