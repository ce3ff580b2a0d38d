"""What the graph may contain: the labels and relationship types of the graph schema
(graphstore/schema.py), read from the real Neo4j with db.labels() and db.relationshipTypes()."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from graphstore import schema


def schema_labels() -> set[str]:
    """The writer's labels and every label the schema statements name (constraints, indexes:
    Neo4j's db.labels() lists those even without nodes)."""
    named = {label.name for label in schema.LABELS}
    return named | set(re.findall(r"\(\w+:(\w+)\)", " ".join(schema.SCHEMA_STATEMENTS)))


def schema_rel_types() -> set[str]:
    return {rel.name for rel in (*schema.REL_TYPES, *schema.AUX_REL_TYPES)}


def labels_and_types(driver: Any) -> tuple[set[str], set[str]]:
    """(db.labels(), db.relationshipTypes()) of the real Neo4j."""
    db = settings.NEO4J_DATABASE
    labels, _, _ = driver.execute_query("CALL db.labels() YIELD label RETURN label", database_=db)
    types, _, _ = driver.execute_query(
        "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType",
        database_=db)
    return {r["label"] for r in labels}, {r["relationshipType"] for r in types}


def assert_only_schema_labels_and_types(driver: Any) -> None:
    labels, types = labels_and_types(driver)
    assert labels <= schema_labels(), f"labels outside the schema: {labels - schema_labels()}"
    assert types <= schema_rel_types(), f"types outside the schema: {types - schema_rel_types()}"
    assert "Pwned" not in labels and "PWNED" not in types
