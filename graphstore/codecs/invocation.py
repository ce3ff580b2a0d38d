"""AgentInvocation (one agentHistory entry) and HAS_AGENT_INVOCATION."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import BOOL, FLOAT, INT, KEY, STR, STR_LIST, Codec, Prop, present, written


class AgentInvocationCodec(Codec):
    name = "AgentInvocation"
    props = (
        Prop("invocationId", STR, KEY),  # "<runId>#<sequence:04d>"
        Prop("runId", STR, column=1),
        Prop("sequence", INT, wire="sequence", column=2),
        Prop("agent", STR, wire="agent", column=3),
        Prop("timestamp", STR, wire="timestamp"),
        Prop("duration", FLOAT, wire="duration", column=5),
        Prop("status", STR, wire="status", column=4),
        Prop("error", STR, wire="error"),
        Prop("outputRef", STR, wire="outputRef"),
        Prop("memoryMb", FLOAT, wire="memoryMb"),
        Prop("rssMb", FLOAT, wire="rssMb"),
        Prop("budgetDurationMs", FLOAT, wire="budgetDurationMs"),
        Prop("budgetMemoryMb", FLOAT, wire="budgetMemoryMb"),
        Prop("budgetBreaches", STR_LIST, wire="budgetBreaches", empty=[]),
        Prop("budgetBreached", BOOL),
        # Only with CAP01_STORE_TRANSCRIPTS on (opt-in), redacted: the entry's transcript.
        Prop("transcriptPrompt", STR, detail=True),
        Prop("transcriptResponse", STR, detail=True),
        Prop("transcriptRedacted", BOOL, detail=True),
        *written(),
    )

    @staticmethod
    def invocation_id(run_id: str, sequence: int) -> str:
        return f"{run_id}#{sequence:04d}"

    @classmethod
    def encode(cls, entry: Mapping[str, Any], *, run_id: str) -> dict[str, Any]:
        out = cls.encode_carried(entry)
        out["runId"] = run_id
        out["budgetBreached"] = bool(entry.get("budgetBreaches"))
        if transcript := entry.get("transcript"):
            out["transcriptPrompt"] = transcript["prompt"]
            out["transcriptResponse"] = transcript["response"]
            out["transcriptRedacted"] = transcript["redacted"]
        return out

    @classmethod
    def decode(cls, props: Mapping[str, Any], *, condensed: bool = False) -> dict[str, Any]:
        """The wire entry; a condensed run's entries have no transcript."""
        transcript = None
        if props.get("transcriptRedacted") is not None and not condensed:
            transcript = {"prompt": props.get("transcriptPrompt", ""),
                          "response": props.get("transcriptResponse", ""),
                          "redacted": props["transcriptRedacted"]}
        return {**cls.decode_carried(props), **present(transcript=transcript)}


class HasAgentInvocationCodec(Codec):
    """(OrchestrationRun)-[:HAS_AGENT_INVOCATION {sequence}]->(AgentInvocation)."""

    name = "HAS_AGENT_INVOCATION"
    props = (Prop("sequence", INT, wire="sequence"),)

    @classmethod
    def encode(cls, entry: Mapping[str, Any]) -> dict[str, Any]:
        return cls.encode_carried(entry)
