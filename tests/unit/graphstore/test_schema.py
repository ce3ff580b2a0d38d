"""The schema tables, the fixed Cypher and the neomodel classes agree with each other."""

from __future__ import annotations

import random

from neomodel import RelationshipDefinition

from graphstore import cypher, nodes
from graphstore.schema import CONSTRAINTS, LABELS, REL_TYPES
from graphstore.writer import RetryPolicy, is_retryable


def test_every_label_has_a_unique_constraint_in_neo4j5_syntax():
    """One `REQUIRE ... IS UNIQUE` constraint per merge key; no `ON ... ASSERT` form."""
    for label in LABELS:
        assert any(f"FOR (n:{label.name}) REQUIRE n.{label.key} IS UNIQUE" in c
                   for c in CONSTRAINTS)
    assert not any("ASSERT" in c for c in CONSTRAINTS)


def test_write_statement_is_fixed_and_parameterised():
    """The write statement has one UNWIND block per label and type in each of its two paths (the
    first write, the rewrite), all data in parameters: the rows in the one map `$w` (a plan per
    parameter type, not per combination of empty lists)."""
    text = cypher.WRITE_RUN
    assert text.count("UNWIND $w.") == 2 * (len(LABELS) + len(REL_TYPES))
    for name in cypher.WRITE_RUN_PARAMS:
        assert f"UNWIND $w.{name} " in text and f"${name} " not in text
    assert "'" not in text and '"' not in text  # no literal values


def test_neomodel_classes_mirror_the_schema():
    """Each label has a neomodel class with its merge key as a unique index, and each
    relationship type is declared on its start class towards its end class."""
    classes = {cls.__label__: cls for cls in nodes.NODE_CLASSES}
    assert set(classes) == {label.name for label in LABELS}
    for label in LABELS:
        prop = classes[label.name].defined_properties(rels=False)[label.key]
        assert prop.unique_index, f"{label.name}.{label.key} is not unique"
    declared = set()
    for cls in nodes.NODE_CLASSES:
        for _name, rel in cls.defined_properties(aliases=False, properties=False).items():
            assert isinstance(rel, RelationshipDefinition)
            if rel.definition["direction"] == 1:  # OUTGOING
                declared.add((cls.__label__, rel.definition["relation_type"],
                              rel._raw_class if isinstance(rel._raw_class, str)
                              else rel._raw_class.__label__))
    for rel in REL_TYPES:
        assert (rel.start, rel.name, rel.end) in declared


def test_backoff_is_exponential_with_full_jitter_and_capped():
    """Delays stay within [0, min(max, base * 2^(n-1))] and grow with the attempt."""
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1, max_delay_s=0.25)
    rng = random.Random(1)
    for attempt, cap in [(1, 0.1), (2, 0.2), (3, 0.25), (6, 0.25)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays) and max(delays) > cap * 0.8


def test_retryable_errors_are_the_transient_ones():
    """Deadlocks, unavailability, expired sessions and unknown commits retry; others do not."""
    from neo4j.exceptions import (
        ClientError,
        IncompleteCommit,
        ServiceUnavailable,
        SessionExpired,
        TransientError,
    )

    assert all(is_retryable(e) for e in [TransientError("deadlock"), ServiceUnavailable("down"),
                                         SessionExpired("gone"), IncompleteCommit("?")])
    assert not any(is_retryable(e) for e in [ClientError("syntax"), ValueError("x")])
