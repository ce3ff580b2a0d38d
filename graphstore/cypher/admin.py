"""The admin's graph browser (graphstore/admin.py): a node's neighbours over one relationship
type and direction, and how each label's nodes are ordered.

PURE: imports neither django, neo4j, celery nor the clock. Every statement is built at import
from the schema tables (one per label, relationship type and direction); the node's key and the
limit travel as $key and $limit.
"""

from __future__ import annotations

from ..schema import LABEL_BY_NAME, REL_TYPES

# How a label's nodes are listed (neomodel order_by arguments, "-x" = descending); the other
# labels are ordered by their merge key.
ORDERING: dict[str, tuple[str, ...]] = {
    "OrchestrationRun": ("-startedAt", "runId"),
    "AgentInvocation": ("runId", "sequence"),
}


def ordering(label: str) -> tuple[str, ...]:
    return ORDERING.get(label, (LABEL_BY_NAME[label].key,))


def order_by(label: str, var: str) -> str:
    """The ORDER BY list of `ordering(label)` for the variable `var`."""
    return ", ".join(f"{var}.{p[1:]} DESC" if p.startswith("-") else f"{var}.{p}"
                     for p in ordering(label))


def related(label: str, rel_type: str, direction: str) -> str:
    """The first $limit neighbours of the node {key: $key} of `label` over `rel_type`
    (`direction` "out" or "in"), ordered as their label is listed, with the relationship's
    properties and the total count."""
    rel = next(r for r in REL_TYPES if r.name == rel_type)
    other = rel.end if direction == "out" else rel.start
    key = LABEL_BY_NAME[label].key
    arrow = f"-[r:{rel.name}]->" if direction == "out" else f"<-[r:{rel.name}]-"
    return (f"MATCH (n:{label} {{{key}: $key}}) "
            f"CALL (n) {{ MATCH (n){arrow}(m:{other}) RETURN r, m "
            f"ORDER BY {order_by(other, 'm')} LIMIT $limit }} "
            f"RETURN properties(r) AS rel, m, "
            f"COUNT {{ (n){arrow.replace('r:', ':')}(:{other}) }} AS total")


# (label, relationship type, direction) -> statement, for every end of every type.
RELATED: dict[tuple[str, str, str], str] = {
    (end, rel.name, direction): related(end, rel.name, direction)
    for rel in REL_TYPES
    for direction, end in (("out", rel.start), ("in", rel.end))
}
