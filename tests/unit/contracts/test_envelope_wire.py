"""Hand-off envelopes as they travel in a Celery message: read without re-validating the payload
value by value (its checksum guards it), written without dumping it again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from contracts import (
    EnvelopeError,
    HandoffEnvelope,
    envelope_from_wire,
    envelope_to_wire,
    open_envelope,
    seal,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sealed() -> HandoffEnvelope:
    return seal({"runId": "run-1", "artifacts": {"recipe": {"x": [1, 2.5, None, "é"]}}},
                agent="RecipeEngineer", run_id="run-1", sequence=1,
                expires_at=NOW + timedelta(minutes=5))


def test_the_wire_form_round_trips_and_equals_pydantic_dump():
    envelope = sealed()
    wire = envelope_to_wire(envelope)
    assert wire == envelope.model_dump(mode="json", by_alias=True)
    back = envelope_from_wire(json.loads(json.dumps(wire)))
    assert back == HandoffEnvelope.model_validate(wire)
    assert open_envelope(back, now=NOW) == envelope.payload


def test_an_altered_payload_is_refused_when_opened():
    wire = json.loads(json.dumps(envelope_to_wire(sealed())))
    wire["payload"]["artifacts"]["recipe"]["x"][0] = 2
    with pytest.raises(EnvelopeError, match="checksum"):
        open_envelope(envelope_from_wire(wire), now=NOW)


@pytest.mark.parametrize("mutate", [
    lambda w: w.update(payload=[1]),
    lambda w: w.pop("payload"),
    lambda w: w["metadata"].update(checksum="nope"),
    lambda w: w.update(expiresAt="tomorrow"),
    lambda w: w["metadata"].update(sequence="1"),
])
def test_an_unreadable_envelope_is_refused(mutate):  # type: ignore[no-untyped-def]
    wire = json.loads(json.dumps(envelope_to_wire(sealed())))
    mutate(wire)
    with pytest.raises(ValueError):
        envelope_from_wire(wire)
    with pytest.raises(ValueError):
        envelope_from_wire("not an envelope")


def test_a_payload_that_is_not_json_does_not_seal():
    with pytest.raises(ValueError):
        seal({"x": float("nan")}, agent="RecipeEngineer", run_id="run-1", sequence=1,
             expires_at=NOW)
    with pytest.raises(ValueError):
        seal({"x": 1}, agent="RecipeEngineer", run_id="run-1", sequence=1,
             expires_at=datetime(2026, 3, 1))  # noqa: DTZ001
