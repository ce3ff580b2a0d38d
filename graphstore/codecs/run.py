"""OrchestrationRun (the run's metadata, its commit marker, its condensation) and TRIGGERED."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from contracts import canonical_json

from .base import (
    BOOL,
    DATETIME,
    FLOAT,
    INT,
    KEY,
    RETENTION,
    STR,
    STR_LIST,
    WRITER,
    Codec,
    Prop,
    written,
)
from .graph import GraphSnapshotCodec
from .validation import ValidationReportCodec


class OrchestrationRunCodec(Codec):
    name = "OrchestrationRun"
    props = (
        Prop("runId", STR, KEY, wire="id"),
        Prop("status", STR, wire="status", column=1),
        Prop("totalDuration", FLOAT, wire="totalDuration", column=4),
        Prop("timestamp", STR, wire="timestamp"),
        Prop("startedAt", DATETIME, column=3),  # metadata.timestamp as a native datetime
        Prop("configSnapshot", STR, wire="configSnapshot", json=True, empty={}),
        Prop("configSnapshotTruncated", BOOL, wire="configSnapshotTruncated", empty=False),
        Prop("failedAgent", STR, wire="failedAgent", column=2),
        Prop("replayOf", STR, wire="replayOf"),
        Prop("peakRssMb", FLOAT, wire="peakRssMb"),
        Prop("budgetBreaches", STR_LIST, wire="budgetBreaches", empty=[]),
        Prop("budgetBreached", BOOL),
        # metadata.segments (queue, stages, hand-offs in ms) as canonical JSON; absent when the
        # run carries none. The write's own segments live on the ledger (RunRecord.segments).
        Prop("segments", STR),
        Prop("checksum", STR),  # of the normalized run
        Prop("schemaVersion", STR),
        Prop("contractVersion", STR),
        # The commit marker, written by the same statement as the run.
        Prop("commitChecksum", STR, WRITER),
        Prop("commitSchemaVersion", STR, WRITER),
        Prop("commitNodeCount", INT, WRITER),
        Prop("commitRelationshipCount", INT, WRITER),
        Prop("committedAt", DATETIME, WRITER, column=5),
        # Who the run belongs to: an opaque id the writer is given (the ledger's submitter),
        # absent for a run nobody owns. Reads over many runs filter on it (graphstore/scope.py,
        # range index orchestration_run_owner_started); it is not part of the run's content.
        Prop("ownerId", STR, WRITER),
        # The run's startedAt while retention has work on it: set with the commit marker (a full
        # run), removed by the condensation that leaves it nothing held (graphstore/retention.py;
        # range index orchestration_run_retention: a pass seeks the runs it may condense and
        # never walks those it condensed).
        Prop("retentionStartedAt", DATETIME, WRITER),
        # Set when retention condenses the run (graphstore/retention.py).
        Prop("condensed", BOOL, RETENTION),
        Prop("condensedAt", DATETIME, RETENTION),
        Prop("condensedRemoved", STR_LIST, RETENTION),
        Prop("condensedRetains", BOOL, RETENTION),
        Prop("condensedNodeCount", INT, RETENTION),
        Prop("condensedRelationshipCount", INT, RETENTION),
        *written(),
    )

    @classmethod
    def encode(cls, metadata: Mapping[str, Any], *, started_at: datetime, checksum: str,
               schema_version: str, contract_version: str) -> dict[str, Any]:
        """The run node's properties from the wire `metadata` (and what is derived from it)."""
        breaches = list(metadata.get("budgetBreaches", []))
        segments = metadata.get("segments")
        return {
            **cls.encode_carried(metadata),
            "segments": canonical_json(segments) if segments is not None else None,
            "budgetBreaches": breaches,
            "configSnapshotTruncated": bool(metadata.get("configSnapshotTruncated", False)),
            "startedAt": started_at,
            "budgetBreached": bool(breaches),
            "checksum": checksum,
            "schemaVersion": schema_version,
            "contractVersion": contract_version,
        }

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        """The wire metadata (without `condensed`: see `condensation`)."""
        out = cls.decode_carried(props)
        if props.get("segments") is not None:
            out["segments"] = json.loads(props["segments"])
        return out

    @classmethod
    def condensation(cls, props: Mapping[str, Any], graph: Mapping[str, Any] | None,
                     validation: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """metadata.condensed of a condensed run: when, what was removed, what is kept of it."""
        if not props.get("condensed"):
            return None
        at = props["condensedAt"]
        removed = list(props.get("condensedRemoved") or [])
        out: dict[str, Any] = {"condensedAt": at.to_native().isoformat() if hasattr(
            at, "to_native") else str(at), "removed": removed}
        if graph is not None and "graph" in removed:
            out["graph"] = GraphSnapshotCodec.condensed_summary(graph)
        if validation is not None and "validation" in removed:
            out["validation"] = ValidationReportCodec.condensed_summary(validation)
        return out

    @classmethod
    def condense_wire(cls, wire: Mapping[str, Any], *, removed: Sequence[str],
                      condensed_at: datetime) -> dict[str, Any]:
        """A full run's wire (RunResult.to_wire(), as the writer was given it) as the run reads
        back once a first condensation at `condensed_at` removed `removed` (wire names, stage
        order): those artifacts absent, no transcripts, and metadata.condensed with the counts
        and outcome `condensation` reads from the kept nodes, here counted from the wire as the
        encoders count them (GraphSnapshotCodec, ValidationReportCodec). Retention's ledger side
        derives its condensed copies with it (orchestration/services/retention.py)."""
        out = {key: value for key, value in wire.items() if key not in removed}
        condensed: dict[str, Any] = {"condensedAt": condensed_at.isoformat(),
                                     "removed": list(removed)}
        if (graph := wire.get("graph")) is not None and "graph" in removed:
            condensed["graph"] = GraphSnapshotCodec.condensed_summary(
                GraphSnapshotCodec.counts(graph))
        if (validation := wire.get("validation")) is not None and "validation" in removed:
            condensed["validation"] = ValidationReportCodec.condensed_summary(
                {**validation, **ValidationReportCodec.counts(validation)})
        out["metadata"] = {**wire["metadata"], "condensed": condensed}
        out["agentHistory"] = [{key: value for key, value in entry.items()
                                if key != "transcript"} for entry in wire["agentHistory"]]
        return out


class TriggeredCodec(Codec):
    """(UserRequest)-[:TRIGGERED {runId}]->(OrchestrationRun)."""

    name = "TRIGGERED"
    props = (Prop("runId", STR),)

    @classmethod
    def encode(cls, run_id: str) -> dict[str, Any]:
        return {"runId": run_id}
