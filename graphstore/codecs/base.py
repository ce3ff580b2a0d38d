"""The building blocks of the label codecs: a property table per label, and the generic part
of encoding (contract wire dict -> Neo4j properties) and decoding (properties -> wire dict).

PURE: imports neither django, neo4j, celery nor the clock.

A `Prop` says, once, everything the rest of the graph store needs to know about one property:
its Neo4j name and type (the neomodel classes of graphstore/nodes.py are checked against it),
who sets it (the codec's encode, the MERGE key, the write statement, retention), the wire key it
carries (read back by decode), whether it is canonical JSON text, whether retention removes it
when it condenses a run, and its place among the admin's list columns.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from contracts import canonical_json

# Property types (Neo4j property types, as neomodel declares them).
STR, INT, FLOAT, BOOL, DATETIME, STR_LIST = "string", "integer", "float", "boolean", "datetime", \
    "string[]"

# Who sets a property.
CONTENT = "content"  # the codec's encode: the run's content (and values derived from it)
KEY = "key"  # the label's merge key: MERGE sets it from the row's key
WRITER = "writer"  # the write statement or the writer (createdAt, writeCount, commit marker)
RETENTION = "retention"  # graphstore/retention.py when it condenses a run


@dataclass(frozen=True)
class Prop:
    name: str  # the Neo4j property name
    type: str = STR
    set_by: str = CONTENT
    wire: str | None = None  # the wire key it carries and decode reads back (None: derived)
    json: bool = False  # canonical JSON text of the wire value
    empty: Any = None  # the wire value encode stores, and decode returns, when it is absent
    detail: bool = False  # retention removes it when it condenses the run
    column: int | None = None  # position among the admin's list columns (None: not listed)


def written(*, count_column: int | None = None, created_column: int | None = None
            ) -> tuple[Prop, Prop]:
    """What the write statement sets on every merged node."""
    return (Prop("createdAt", DATETIME, WRITER, column=created_column),
            Prop("writeCount", INT, WRITER, column=count_column))


class Codec:
    """Properties of one label or relationship type: the table and the generic encode/decode."""

    name: ClassVar[str]  # the label or relationship type
    props: ClassVar[tuple[Prop, ...]]
    # (name, wire key, empty, json) of the properties encode_carried sets, computed once per
    # codec from `props`: the writer's mapping runs it for every node of every run.
    _carried: ClassVar[tuple[tuple[str, str, Any, bool], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "props" in cls.__dict__:
            cls._carried = tuple((p.name, p.wire, p.empty, p.json) for p in cls.props
                                 if p.wire is not None and p.set_by == CONTENT)

    @classmethod
    def names(cls, *, set_by: str | None = None) -> tuple[str, ...]:
        return tuple(p.name for p in cls.props if set_by is None or p.set_by == set_by)

    @classmethod
    def details(cls) -> tuple[str, ...]:
        """The properties retention removes when it condenses the run."""
        return tuple(p.name for p in cls.props if p.detail)

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """The admin's list columns, in order."""
        listed = sorted((p for p in cls.props if p.column is not None),
                        key=lambda p: p.column or 0)
        return tuple(p.name for p in listed)

    @classmethod
    def encode_carried(cls, part: Mapping[str, Any]) -> dict[str, Any]:
        """The properties that carry a wire key, from the wire dict `part`; none is null (Neo4j
        stores no nulls: an absent key without an `empty` value is left out)."""
        get = part.get
        out: dict[str, Any] = {}
        for name, wire, empty, is_json in cls._carried:  # a loop: a large run makes ~500 of these
            value = get(wire, empty)
            if value is not None:
                out[name] = canonical_json(value) if is_json else value
        return out

    @classmethod
    def decode_carried(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        """The wire keys carried by `props` (the key included); absent ones are left out, or
        given their `empty` value."""
        out: dict[str, Any] = {}
        for p in cls.props:
            if p.wire is None:
                continue
            value = props.get(p.name)
            if value is None:
                if p.empty is not None:
                    out[p.wire] = copy.deepcopy(p.empty)
                continue
            out[p.wire] = json.loads(value) if p.json else value
        return out


def present(**fields: Any) -> dict[str, Any]:
    """The fields that are not None (Neo4j stores no nulls; the wire carries none)."""
    return {k: v for k, v in fields.items() if v is not None}
