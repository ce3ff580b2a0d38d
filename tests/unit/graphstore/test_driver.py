"""The Neo4j driver as installed: the pinned version with its Rust extension."""

from __future__ import annotations

import importlib.util

import neo4j


def test_the_driver_packs_with_its_rust_extension() -> None:
    """requirements/base.txt installs neo4j-rust-ext beside the pinned driver (writes ~35%
    faster, tools/driver_compare.sh): the driver finds its compiled packstream module, and
    packs with it."""
    assert neo4j.__version__ == "5.19.0"
    assert importlib.util.find_spec("neo4j._codec.packstream._rust") is not None
    from neo4j._codec.packstream import v1

    assert v1._rust_pack is not None and v1._rust_unpack is not None
