"""ValidationReport: the QA outcome, its issues as JSON text (read back exactly by replay) and,
beside them, the issues' agents, fields and severities as parallel string lists that Cypher
reads directly (graphstore/cypher/analytics.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts import checksum

from .base import BOOL, INT, KEY, STR, STR_LIST, Codec, Prop, written

# The issue lists Cypher reads, per kind: (agents, fields, severities); element i of each is
# issue i of the kind's JSON list. Derived on write, never read back (the JSON is the record).
ISSUE_LISTS: dict[str, tuple[str, str, str]] = {
    "errors": ("errorAgents", "errorFields", "errorSeverities"),
    "warnings": ("warningAgents", "warningFields", "warningSeverities"),
}


class ValidationReportCodec(Codec):
    name = "ValidationReport"
    props = (
        Prop("runId", STR, KEY),
        Prop("checksum", STR),
        Prop("valid", BOOL, wire="valid", column=1),
        Prop("canProceed", BOOL, wire="canProceed", column=2),
        Prop("summary", STR, wire="summary", column=5),
        Prop("timestamp", STR, wire="timestamp"),
        Prop("errorCount", INT, column=3),
        Prop("warningCount", INT, column=4),
        Prop("criticalCount", INT),
        Prop("errors", STR, wire="errors", json=True, detail=True),
        Prop("warnings", STR, wire="warnings", json=True, detail=True),
        Prop("criticalErrors", STR, wire="criticalErrors", json=True, detail=True),
        Prop("checks", STR, wire="checks", json=True, detail=True),
        *(Prop(name, STR_LIST, detail=True) for names in ISSUE_LISTS.values() for name in names),
        *written(),
    )

    @classmethod
    def encode(cls, validation: Mapping[str, Any]) -> dict[str, Any]:
        props = {**cls.encode_carried(validation), "checksum": checksum(validation),
                 **cls.counts(validation)}
        props.update(cls.issue_props(validation["errors"], validation["warnings"]))
        return props

    @staticmethod
    def counts(validation: Mapping[str, Any]) -> dict[str, int]:
        """errorCount, warningCount and criticalCount of a wire validation report."""
        return {"errorCount": len(validation["errors"]),
                "warningCount": len(validation["warnings"]),
                "criticalCount": len(validation["criticalErrors"])}

    @classmethod
    def issue_props(cls, errors: Sequence[Mapping[str, Any]],
                    warnings: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
        """The issue lists of both kinds (also what graphstore/migrate.py backfills)."""
        props: dict[str, list[str]] = {}
        for names, issues in ((ISSUE_LISTS["errors"], errors),
                              (ISSUE_LISTS["warnings"], warnings)):
            props.update(zip(names, issue_lists(issues), strict=True))
        return props

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        return cls.decode_carried(props)

    @classmethod
    def condensed_summary(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        """What a condensed run keeps of its validation (metadata.condensed.validation)."""
        return {"valid": props["valid"], "canProceed": props["canProceed"],
                "errorCount": props.get("errorCount", 0),
                "warningCount": props.get("warningCount", 0),
                "criticalCount": props.get("criticalCount", 0),
                "summary": props.get("summary", "")}


def issue_lists(issues: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    """(agents, fields, severities) of the issues, in their order."""
    return ([i["agent"] for i in issues], [i["field"] for i in issues],
            [i["severity"] for i in issues])
