"""GraphSnapshot: the graph artifact (nodes, edges, metadata) and its cypherCommands, inline when
small, in the blob store (by SHA-256) when over the threshold."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contracts import canonical_json, checksum, sha256_hex

from .base import INT, KEY, STR, WRITER, Codec, Prop, written


class GraphSnapshotCodec(Codec):
    name = "GraphSnapshot"
    props = (
        Prop("runId", STR, KEY),
        Prop("checksum", STR),
        Prop("nodeCount", INT, column=1),
        Prop("edgeCount", INT, column=2),
        Prop("nodes", STR, wire="nodes", json=True, detail=True),
        Prop("edges", STR, wire="edges", json=True, detail=True),
        Prop("metadata", STR, wire="metadata", json=True, empty={}, detail=True),
        Prop("cypherCommandCount", INT, column=3),
        Prop("cypherCommandsSize", INT),  # bytes of their canonical JSON
        Prop("cypherCommands", STR, detail=True),  # canonical JSON, inline up to the threshold
        Prop("blobUri", STR, WRITER, detail=True, column=4),  # set by the writer after the put
        Prop("blobSha256", STR, detail=True),
        Prop("blobSize", INT, detail=True),
        *written(created_column=5),
    )

    @classmethod
    def encode(cls, graph: Mapping[str, Any], *, blob_threshold: int
               ) -> tuple[dict[str, Any], bytes | None]:
        """The snapshot's properties, and the cypherCommands bytes to put in the blob store when
        they are over `blob_threshold` (None when they stay inline). blobUri is added by the
        writer after the put (`blob_uri`)."""
        commands = canonical_json(graph["cypherCommands"]).encode("utf-8")
        props: dict[str, Any] = {
            **cls.encode_carried(graph),
            "checksum": checksum(graph),
            **cls.counts(graph),
            "cypherCommandsSize": len(commands),
        }
        if len(commands) > blob_threshold:
            props["blobSha256"] = sha256_hex(commands)
            props["blobSize"] = len(commands)
            return props, commands
        props["cypherCommands"] = commands.decode("utf-8")
        return props, None

    @staticmethod
    def counts(graph: Mapping[str, Any]) -> dict[str, int]:
        """nodeCount, edgeCount and cypherCommandCount of a wire graph."""
        return {"nodeCount": len(graph["nodes"]), "edgeCount": len(graph["edges"]),
                "cypherCommandCount": len(graph["cypherCommands"])}

    @classmethod
    def blob_uri(cls, uri: str) -> dict[str, Any]:
        """What the writer adds once the blob is stored."""
        return {"blobUri": uri}

    @classmethod
    def blob_of(cls, props: Mapping[str, Any]) -> tuple[str, str] | None:
        """(uri, sha256) of the blob holding the cypherCommands; None when they are inline."""
        if props.get("blobUri") is None:
            return None
        return props["blobUri"], props["blobSha256"]

    @classmethod
    def decode(cls, props: Mapping[str, Any], blob: bytes | None = None) -> dict[str, Any]:
        """The wire graph; `blob` is the content of the blob when `blob_of` names one."""
        commands = props["cypherCommands"] if blob is None else blob.decode("utf-8")
        return {**cls.decode_carried(props), "cypherCommands": json.loads(commands)}

    @classmethod
    def condensed_summary(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        """What a condensed run keeps of its graph (metadata.condensed.graph)."""
        return {"nodeCount": props.get("nodeCount", 0), "edgeCount": props.get("edgeCount", 0),
                "cypherCommandCount": props.get("cypherCommandCount", 0)}
