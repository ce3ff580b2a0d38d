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

from ..codecs import NODE_CODECS
from ..codecs.base import DATETIME
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
    list, in `ordering(label)`'s order). Written as a range on the first property (an index
    seeks it, in order) and, for a second property, a CASE on the ties: the equivalent OR of
    two ranges (or a NOT of their AND, which the planner rewrites into one) lets the planner
    seek each branch and sort their union."""
    parts = ordering(label)
    if len(parts) > 2:
        raise ValueError(f"{label}: a cursor over more than two properties is not written")
    first, *rest = parts
    strict = "<" if first.startswith("-") else ">"
    if not rest:
        return f"{var}.{first.lstrip('-')} {strict} $after[0]"
    second = rest[0]
    beyond = "<" if second.startswith("-") else ">"
    return (f"{var}.{first.lstrip('-')} {strict}= $after[0] AND "
            f"CASE WHEN {var}.{first.lstrip('-')} = $after[0] "
            f"THEN {var}.{second.lstrip('-')} {beyond} $after[1] ELSE true END")


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
    (`direction` "out" or "in"), ordered as their label is listed. The scan walks the other
    label's index in the page's order (`WITH m ORDER BY`, which the index provides, so nothing
    is sorted) and checks each node for the relationship in a subquery, lazily: the LIMIT stops
    the walk. Written as a join instead, the planner may build a hash table of every neighbour
    or sort them all."""
    rel = next(r for r in REL_TYPES if r.name == rel_type)
    other = rel.end if direction == "out" else rel.start
    node = f"(n:{label} {{{LABEL_BY_NAME[label].key}: $key}})"
    arrow = _arrow(rel.name, direction)
    order = order_by(other, "m")
    tail = f"RETURN properties(r) AS rel, m ORDER BY {order} LIMIT $limit"
    index = order_index(other)
    present = " AND ".join(f"m.{p} IS NOT NULL" for p in index)

    def scan(condition: str) -> str:
        return (f"MATCH (m:{other}) USING INDEX m:{other}({', '.join(index)}) "
                f"WHERE {present}{condition} WITH m ORDER BY {order} "
                f"CALL (m) {{ MATCH {node}{arrow}(m) RETURN r }} {tail}")

    # From the node, its neighbours in a subquery: with the keyset condition in the MATCH
    # itself, the planner seeks the other label's index for it and joins every node after the
    # cursor (the whole label) instead of the node's few neighbours.
    neighbours = f"MATCH {node} CALL (n) {{ MATCH (n){arrow}(m:{other}) RETURN r, m }}"
    return Related(
        expand=f"{neighbours} {tail}",
        expand_after=f"{neighbours} WITH r, m WHERE {after(other, 'm')} {tail}",
        scan=scan(""),
        scan_after=scan(f" AND {after(other, 'm')}"),
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
# The RecipeVersion most runs use (tools/admin_bench.py times its page): reads every recipe's
# degree, for a benchmark only.
BUSIEST_RECIPE = ("MATCH (rv:RecipeVersion) RETURN rv.checksum AS key "
                  "ORDER BY COUNT { (rv)<-[:USED_RECIPE]-() } DESC LIMIT 1")


def columns(label: str) -> tuple[str, ...]:
    """The admin's list columns of `label` (its codec's), in order."""
    return NODE_CODECS[label].columns()


def temporal_columns(label: str) -> frozenset[int]:
    """The positions of the datetime columns among `label`'s list columns (`columns`): LISTING
    reads them as epoch milliseconds, and the node list makes them datetimes again."""
    props = {p.name: p for p in NODE_CODECS[label].props}
    return frozenset(i for i, c in enumerate(columns(label)) if props[c].type == DATETIME)


def listing(label: str, *, search: bool) -> str:
    """A page of `label`'s nodes for the node list: $skip rows, then $limit, in the label's
    order, as the merge key (`key`) and the list columns (`cells`, in `columns(label)`'s order);
    with `search`, only the nodes whose key contains $q (both lower-cased: a substring, not a
    pattern). Returning whole nodes instead cost 100 ms a page of 50 runs at 100,000 runs: every
    property travelled (the run's embedding, its JSON snapshots) and the driver builds a
    neo4j.time.DateTime for every temporal value, ~0.5 ms each; so only the listed columns are
    read, temporal ones as epoch milliseconds (graphstore/admin.py makes them datetimes). The
    ordering properties are required IS NOT NULL (every node has them), which lets Neo4j read
    the page in the order of the index that holds them (ORDER_INDEX, named by a hint) instead of
    sorting."""
    temporal = temporal_columns(label)
    cells = ", ".join(f"m.{c}.epochMillis" if i in temporal else f"m.{c}"
                      for i, c in enumerate(columns(label)))
    present = " AND ".join(f"m.{p} IS NOT NULL" for p in order_properties(label))
    key = LABEL_BY_NAME[label].key
    where = f"{present} AND toLower(m.{key}) CONTAINS toLower($q)" if search else present
    # The hint names the index whose order serves the page: on a small graph the planner may
    # otherwise scan another index of the label (the key's, for `key IS NOT NULL`) and sort.
    hint = f"USING INDEX m:{label}({', '.join(order_index(label))})"
    return (f"MATCH (m:{label}) {hint} WHERE {where} "
            f"RETURN m.{key} AS key, [{cells}] AS cells "
            f"ORDER BY {order_by(label, 'm')} SKIP $skip LIMIT $limit")


def listing_count(label: str) -> str:
    """How many nodes of `label` a search ($q) finds."""
    key = LABEL_BY_NAME[label].key
    return (f"MATCH (m:{label}) WHERE toLower(m.{key}) CONTAINS toLower($q) "
            "RETURN count(m) AS n")


# label -> the node list's statements (unsearched, searched) and the searched count.
LISTING: dict[str, str] = {label.name: listing(label.name, search=False) for label in LABELS}
LISTING_SEARCH: dict[str, str] = {label.name: listing(label.name, search=True)
                                  for label in LABELS}
LISTING_COUNT: dict[str, str] = {label.name: listing_count(label.name) for label in LABELS}
