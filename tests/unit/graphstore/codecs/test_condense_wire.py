"""OrchestrationRunCodec.condense_wire: a full run's wire as the run reads back once condensed
(the ledger's condensed copies; the integration test compares it with replay's read-back)."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import RunResult
from graphstore.codecs import OrchestrationRunCodec
from tools.synthetic import make_run

AT = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _full() -> dict:
    wire = make_run(7, now=datetime(2026, 10, 1, tzinfo=UTC), run_id="run-condense").to_wire()
    wire["agentHistory"][0]["transcript"] = {"prompt": "p", "response": "r", "redacted": True}
    return wire


def test_removed_artifacts_and_transcripts_are_gone_and_the_summary_counts_the_wire():
    full = _full()
    out = OrchestrationRunCodec.condense_wire(
        full, removed=["calculation", "graph", "validation", "uiConfig"], condensed_at=AT)
    assert {"calculation", "graph", "validation", "uiConfig"}.isdisjoint(out)
    assert out["recipe"] == full["recipe"] and out["request"] == full["request"]
    assert all("transcript" not in entry for entry in out["agentHistory"])
    assert [{k: v for k, v in e.items() if k != "transcript"} for e in full["agentHistory"]] == \
        out["agentHistory"]
    run = RunResult.model_validate(out)
    assert run.metadata.condensed is not None and run.metadata.condensed.condensed_at == AT
    condensed = out["metadata"].pop("condensed")
    assert out["metadata"] == full["metadata"]
    graph, validation = full["graph"], full["validation"]
    assert condensed == {
        "condensedAt": AT.isoformat(),
        "removed": ["calculation", "graph", "validation", "uiConfig"],
        "graph": {"nodeCount": len(graph["nodes"]), "edgeCount": len(graph["edges"]),
                  "cypherCommandCount": len(graph["cypherCommands"])},
        "validation": {"valid": validation["valid"], "canProceed": validation["canProceed"],
                       "errorCount": len(validation["errors"]),
                       "warningCount": len(validation["warnings"]),
                       "criticalCount": len(validation["criticalErrors"]),
                       "summary": validation["summary"]}}
    assert "transcript" in full["agentHistory"][0]  # the full copy is not changed


def test_what_was_not_removed_gets_no_summary():
    full = _full()
    out = OrchestrationRunCodec.condense_wire(full, removed=["uiConfig"], condensed_at=AT)
    assert out["graph"] == full["graph"] and out["validation"] == full["validation"]
    assert out["metadata"]["condensed"] == {"condensedAt": AT.isoformat(),
                                            "removed": ["uiConfig"]}
