"""The codec tables agree with the schema, the neomodel classes and the admin's columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neomodel import (
    ArrayProperty,
    BooleanProperty,
    DateTimeNeo4jFormatProperty,
    FloatProperty,
    IntegerProperty,
    StringProperty,
)

from graphstore import nodes
from graphstore.codecs import NODE_CODECS, REL_CODECS
from graphstore.codecs.base import DATETIME, KEY, STR_LIST, WRITER
from graphstore.cypher.admin import ORDERING
from graphstore.schema import LABELS, REL_BY_NAME

ROOT = Path(__file__).resolve().parents[4]
TYPE_OF = {StringProperty: "string", IntegerProperty: "integer", FloatProperty: "float",
           BooleanProperty: "boolean", DateTimeNeo4jFormatProperty: DATETIME,
           ArrayProperty: STR_LIST}
REL_MODELS = {"HAS_INGREDIENT": nodes.IngredientUse, "HAS_AGENT_INVOCATION": nodes.InvocationOrder,
              "TRIGGERED": nodes.RequestTrigger}


def declared(cls: type) -> dict[str, str]:
    """Neo4j property name -> type of a neomodel class."""
    return {prop.db_property or name: TYPE_OF[type(prop)]
            for name, prop in cls.defined_properties(aliases=False, rels=False).items()}


def test_one_codec_per_label_in_schema_order_keyed_by_the_merge_key():
    """NODE_CODECS follows schema.LABELS, and each codec's KEY property is the merge key."""
    assert list(NODE_CODECS) == [label.name for label in LABELS]
    for label in LABELS:
        assert NODE_CODECS[label.name].names(set_by=KEY) == (label.key,)


def test_relationship_codecs_name_schema_types():
    """Every relationship codec names a relationship type of the schema."""
    assert set(REL_CODECS) <= set(REL_BY_NAME)


def test_neomodel_classes_declare_exactly_the_codec_properties():
    """Each label's neomodel class declares every codec property, with the same type, and
    nothing else; likewise the relationship models."""
    classes = {cls.__label__: cls for cls in nodes.NODE_CLASSES}
    for label, codec in NODE_CODECS.items():
        assert declared(classes[label]) == {p.name: p.type for p in codec.props}, label
    assert set(REL_MODELS) == set(REL_CODECS)
    for rel, model in REL_MODELS.items():
        assert declared(model) == {p.name: p.type for p in REL_CODECS[rel].props}, rel


def test_every_node_carries_what_the_writer_sets():
    """createdAt and writeCount are declared, set by the writer, on every label."""
    for codec in NODE_CODECS.values():
        assert {"createdAt", "writeCount"} <= set(codec.names(set_by=WRITER))


def test_admin_columns_and_ordering_are_codec_properties():
    """The admin lists and orders labels by properties their codecs declare."""
    for label, codec in NODE_CODECS.items():
        assert codec.columns(), label
        assert set(codec.columns()) <= set(codec.names())
    for label, order in ORDERING.items():
        assert {p.lstrip("-") for p in order} <= set(NODE_CODECS[label].names())


def test_codecs_and_cypher_are_pure():
    """The codecs and the Cypher package import neither neo4j, django nor celery."""
    code = ("import sys, graphstore.codecs, graphstore.cypher, graphstore.cypher.admin,"
            " graphstore.cypher.analytics, graphstore.cypher.retention, graphstore.cypher.schema,"
            " graphstore.cypher.retrieval, graphstore.cypher.blob_gc;"
            "bad = [m for m in ('django', 'neo4j', 'neomodel', 'celery') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
