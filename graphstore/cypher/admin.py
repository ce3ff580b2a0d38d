"""The admin's graph browser (graphstore/admin.py): how each label's nodes are ordered, and a
node's neighbours over one relationship type and direction, a page at a time.

PURE: imports neither django, neo4j, celery nor the clock. Every statement is built at import
from the schema tables (per label, relationship type and direction); the node's key, the page
size and the keyset cursor travel as $key, $limit and $after.

A shared node's neighbour list grows with the graph (an Ingredient is used by every
RecipeVersion that holds it: tens of thousands at 100,000 runs). Ordering all of them to show
one page reads every neighbour, so each end of a relationship type has two ways to read a page,
both in the listed order of the other label and both by keyset (the page after $after, the
ordering values of the previous page's last row):

    expand  from the node over its relationships, every neighbour ordered (Top-K): costs the
            node's degree; right when the degree is small
    scan    the other label's nodes in the order of the index that serves its ordering
            (ORDER_INDEX), each checked for the relationship to the node, stopping at $limit:
            costs about limit * (nodes of that label) / degree; right for a high degree

graphstore/admin.py picks the cheaper from the node's degree (DEGREES: one statement per label
reading every section's total from the degree counts) and the other label's count (LABEL_COUNT,
from the count store).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import LABEL_BY_NAME, LABELS, REL_TYPES

# How a label's nodes are listed (neomodel order_by arguments, "-x" = descending); the other
# labels are ordered by their merge key.
ORDERING: dict[str, tuple[str, ...]] = {
    "OrchestrationRun": ("-startedAt", "runId"),
    "AgentInvocation": ("runId", "sequence"),
}

# The properties of the index (cypher/schema.py) whose order serves a label's ordering: its
# first properties, in order. A merge key's uniqueness constraint serves the other labels.
ORDER_INDEX: dict[str, tuple[str, ...]] = {
    "OrchestrationRun": ("startedAt",),  # orchestration_run_started
    "AgentInvocation": ("runId", "sequence"),  # agent_invocation_run_seq
}


def ordering(label: str) -> tuple[str, ...]:
    return ORDERING.get(label, (LABEL_BY_NAME[label].key,))


def order_index(label: str) -> tuple[str, ...]:
    return ORDER_INDEX.get(label, (LABEL_BY_NAME[label].key,))


def order_properties(label: str) -> tuple[str, ...]:
    """The properties of `ordering(label)`, without the direction: a cursor holds their values."""
    return tuple(p.lstrip("-") for p in ordering(label))


def order_by(label: str, var: str) -> str:
    """The ORDER BY list of `ordering(label)` for the variable `var`."""
    return ", ".join(f"{var}.{p[1:]} DESC" if p.startswith("-") else f"{var}.{p}"
                     for p in ordering(label))


def after(label: str, var: str) -> str:
    """The keyset condition: `var` comes after the row whose ordering values are $after (a
    list, in `ordering(label)`'s order)."""
    parts = ordering(label)
    terms = []
    for i, prop in enumerate(parts):
        equal = [f"{var}.{p.lstrip('-')} = $after[{j}]" for j, p in enumerate(parts[:i])]
        op = "<" if prop.startswith("-") else ">"
        terms.append(" AND ".join([*equal, f"{var}.{prop.lstrip('-')} {op} $after[{i}]"]))
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(f"({t})" for t in terms) + ")"


def _seek(label: str, var: str) -> str:
    """`after` plus a range on the first ordering property alone, which an index can seek."""
    parts = ordering(label)
    if len(parts) == 1:
        return after(label, var)
    op = "<=" if parts[0].startswith("-") else ">="
    return f"{var}.{parts[0].lstrip('-')} {op} $after[0] AND {after(label, var)}"


@dataclass(frozen=True)
class Related:
    """The four statements of one end of a relationship type (module docstring): each returns
    `rel` (the relationship's properties) and `m` (the neighbour), at most $limit rows."""

    expand: str
    expand_after: str
    scan: str
    scan_after: str


def _arrow(rel_name: str, direction: str, var: str = "r") -> str:
    return f"-[{var}:{rel_name}]->" if direction == "out" else f"<-[{var}:{rel_name}]-"


def related(label: str, rel_type: str, direction: str) -> Related:
    """The statements for the neighbours of the node {key: $key} of `label` over `rel_type`
    (`direction` "out" or "in"), ordered as their label is listed."""
    rel = next(r for r in REL_TYPES if r.name == rel_type)
    other = rel.end if direction == "out" else rel.start
    node = f"(n:{label} {{{LABEL_BY_NAME[label].key}: $key}})"
    arrow = _arrow(rel.name, direction)
    tail = f"RETURN properties(r) AS rel, m ORDER BY {order_by(other, 'm')} LIMIT $limit"
    index = order_index(other)
    present = " AND ".join(f"m.{p} IS NOT NULL" for p in index)

    def scan(condition: str) -> str:
        return (f"MATCH {node} "
                f"MATCH (m:{other}) USING INDEX m:{other}({', '.join(index)}) "
                f"WHERE {present}{condition} "
                f"MATCH (n){arrow}(m) {tail}")

    return Related(
        expand=f"MATCH {node}{arrow}(m:{other}) {tail}",
        expand_after=f"MATCH {node}{arrow}(m:{other}) WHERE {after(other, 'm')} {tail}",
        scan=scan(""),
        scan_after=scan(f" AND {_seek(other, 'm')}"),
    )


def sections(label: str) -> tuple[tuple[str, str, str], ...]:
    """(relationship type, direction, other label) of every relationship the schema gives
    `label`, in the order of REL_TYPES, outgoing before incoming."""
    return tuple((rel.name, direction, other)
                 for rel in REL_TYPES
                 for direction, end, other in (("out", rel.start, rel.end),
                                               ("in", rel.end, rel.start))
                 if end == label)


def degrees(label: str) -> str:
    """Every section's total for the node {key: $key} (in `sections(label)`'s order), read from
    the node's degree counts (the schema fixes the label at the other end)."""
    counts = ", ".join(f"COUNT {{ (n){_arrow(rel, d, '')}() }}"
                       for rel, d, _ in sections(label))
    return (f"MATCH (n:{label} {{{LABEL_BY_NAME[label].key}: $key}}) "
            f"RETURN [{counts}] AS totals")


# (label, relationship type, direction) -> its statements, for every end of every type.
RELATED: dict[tuple[str, str, str], Related] = {
    (end, rel.name, direction): related(end, rel.name, direction)
    for rel in REL_TYPES
    for direction, end in (("out", rel.start), ("in", rel.end))
}
DEGREES: dict[str, str] = {label.name: degrees(label.name) for label in LABELS}
# The nodes of a label, from the count store.
LABEL_COUNT: dict[str, str] = {label.name: f"MATCH (m:{label.name}) RETURN count(m) AS n"
                               for label in LABELS}
