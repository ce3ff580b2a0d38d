"""Hand-off envelopes as they travel in a Celery message: read without re-validating the payload
value by value (its signature guards it), written without dumping it again; signed with a keyed
HMAC-SHA256 that the first key makes and every listed key checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    EnvelopeError,
    EnvelopeKeyError,
    EnvelopeKeys,
    HandoffEnvelope,
    canonical_json,
    envelope_from_wire,
    envelope_to_wire,
    open_envelope,
    seal,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD = ("k2025", b"o" * 32)
NEW = ("k2026", b"n" * 32)
KEYS = EnvelopeKeys((NEW,))


def sealed(keys: EnvelopeKeys = KEYS) -> HandoffEnvelope:
    return seal({"runId": "run-1", "artifacts": {"recipe": {"x": [1, 2.5, None, "é"]}}},
                agent="RecipeEngineer", run_id="run-1", sequence=1,
                expires_at=NOW + timedelta(minutes=5), keys=keys)


def on_the_wire(envelope: HandoffEnvelope) -> dict[str, Any]:
    return json.loads(json.dumps(envelope_to_wire(envelope)))


def test_the_wire_form_round_trips_and_equals_pydantic_dump():
    """The hand-written wire form equals pydantic's dump and opens after a JSON round trip."""
    envelope = sealed()
    wire = envelope_to_wire(envelope)
    assert wire == envelope.model_dump(mode="json", by_alias=True)
    assert wire["metadata"]["keyId"] == "k2026" and len(wire["metadata"]["signature"]) == 64
    back = envelope_from_wire(json.loads(json.dumps(wire)))
    assert back == HandoffEnvelope.model_validate(wire)
    assert open_envelope(back, now=NOW, keys=KEYS) == envelope.payload


def test_an_altered_payload_is_refused_when_opened():
    """A payload changed in transit fails the signature."""
    wire = on_the_wire(sealed())
    wire["payload"]["artifacts"]["recipe"]["x"][0] = 2
    with pytest.raises(EnvelopeError, match="fails its signature"):
        open_envelope(envelope_from_wire(wire), now=NOW, keys=KEYS)


def test_an_altered_payload_with_a_recomputed_plain_checksum_is_refused():
    """Whoever changes the payload and puts its plain SHA-256 where the signature goes (what the
    unkeyed checksum allowed) is refused: without the secret no valid signature can be made."""
    wire = on_the_wire(sealed())
    wire["payload"]["artifacts"]["recipe"]["x"][0] = 2
    wire["metadata"]["signature"] = hashlib.sha256(
        canonical_json(wire["payload"]).encode()).hexdigest()
    with pytest.raises(EnvelopeError, match="fails its signature"):
        open_envelope(envelope_from_wire(wire), now=NOW, keys=KEYS)


def test_a_signature_made_with_a_guessed_secret_is_refused():
    """A signature recomputed under the right key id with another secret is refused."""
    forged = sealed(EnvelopeKeys((("k2026", b"guessed-secret-of-32-bytes-or-so!"),)))
    with pytest.raises(EnvelopeError, match="fails its signature"):
        open_envelope(forged, now=NOW, keys=KEYS)


@pytest.mark.parametrize("mutate", [
    lambda w: w.update(expiresAt="2030-01-01T00:00:00Z"),
    lambda w: w["metadata"].update(agent="QAValidator"),
    lambda w: w["metadata"].update(sequence=4),
    lambda w: w["metadata"].update(runId="run-2"),
    lambda w: w["resources"].update(cpuMs=1.0),
], ids=["deadline", "agent", "sequence", "runId", "resources"])
def test_altered_metadata_or_deadline_is_refused(mutate):  # type: ignore[no-untyped-def]
    """The signature covers the metadata, resources and deadline as well as the payload."""
    wire = on_the_wire(sealed())
    mutate(wire)
    with pytest.raises(EnvelopeError, match="fails its signature"):
        open_envelope(envelope_from_wire(wire), now=NOW, keys=KEYS)


def test_an_envelope_signed_with_an_old_key_opens_while_that_key_is_listed():
    """Rotation: a run in flight sealed with the old key still opens once the new key signs,
    as long as the old key is listed; new envelopes are signed with the first key."""
    in_flight = on_the_wire(sealed(EnvelopeKeys((OLD,))))
    rotated = EnvelopeKeys((NEW, OLD))
    assert open_envelope(envelope_from_wire(in_flight), now=NOW, keys=rotated)["runId"] == "run-1"
    assert envelope_to_wire(sealed(rotated))["metadata"]["keyId"] == "k2026"


def test_an_unknown_key_id_is_refused_with_a_clear_error():
    """An envelope signed with a key this process does not list (retired, or another
    deployment's) is refused naming the key id and the ids it holds, never the secrets."""
    in_flight = on_the_wire(sealed(EnvelopeKeys((OLD,))))
    with pytest.raises(EnvelopeError) as info:
        open_envelope(envelope_from_wire(in_flight), now=NOW, keys=KEYS)
    message = str(info.value)
    assert "'k2025'" in message and "does not hold" in message and "k2026" in message
    assert "nnnn" not in message and "oooo" not in message


def test_the_signature_is_hmac_sha256_over_the_canonical_payload():
    """The signature is HMAC-SHA256 with the key's secret: a short header, then the payload's
    canonical JSON (the one serialization a hop makes)."""
    envelope = sealed()
    mac = hmac.new(NEW[1], canonical_json(
        ["RecipeEngineer", "run-1", 1, "k2026",
         int((envelope.expires_at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6,
         0.0, 0.0]).encode(), hashlib.sha256)
    mac.update(canonical_json(envelope.payload).encode())
    assert envelope.metadata.signature == mac.hexdigest()


@pytest.mark.parametrize("mutate", [
    lambda w: w.update(payload=[1]),
    lambda w: w.pop("payload"),
    lambda w: w["metadata"].update(signature="nope"),
    lambda w: w["metadata"].pop("keyId"),
    lambda w: w["metadata"].update(keyId="no spaces"),
    lambda w: w.update(expiresAt="tomorrow"),
    lambda w: w["metadata"].update(sequence="1"),
])
def test_an_unreadable_envelope_is_refused(mutate):  # type: ignore[no-untyped-def]
    """A malformed envelope (no payload object, no key id, a bad signature or deadline) does
    not parse."""
    wire = on_the_wire(sealed())
    mutate(wire)
    with pytest.raises(ValueError):
        envelope_from_wire(wire)
    with pytest.raises(ValueError):
        envelope_from_wire("not an envelope")


def test_a_payload_that_is_not_json_does_not_seal():
    """NaN and a naive deadline are refused when sealing."""
    with pytest.raises(ValueError):
        seal({"x": float("nan")}, agent="RecipeEngineer", run_id="run-1", sequence=1,
             expires_at=NOW, keys=KEYS)
    with pytest.raises(ValueError):
        seal({"x": 1}, agent="RecipeEngineer", run_id="run-1", sequence=1,
             expires_at=datetime(2026, 3, 1), keys=KEYS)  # noqa: DTZ001


def test_keys_parse_from_the_environment_form_first_signs():
    """"id:secret,id:secret" (white space ignored): the first key signs, all verify, and the
    repr shows the ids only."""
    keys = EnvelopeKeys.parse(f" k2026:{'n' * 32} ,k2025:{'o' * 32}")
    assert keys.signing_key_id == "k2026" and keys.key_ids == ("k2026", "k2025")
    assert keys.secret("k2025") == b"o" * 32 and keys.secret("other") is None
    assert "nnnn" not in repr(keys) and "k2025" in repr(keys)


@pytest.mark.parametrize(("text", "says"), [
    ("", "id:secret"),
    ("k1", "id:secret"),
    (f"k1:{'a' * 32},", "id:secret"),
    ("k1:short", "at least 32"),
    (f"k1:{'a' * 32},k1:{'b' * 32}", "listed twice"),
    (f"bad id:{'a' * 32}", "key id"),
])
def test_unusable_keys_are_refused(text, says):  # type: ignore[no-untyped-def]
    """An empty or malformed list, a short secret or a repeated id is refused, naming the fault
    and never the secret."""
    with pytest.raises(EnvelopeKeyError, match=says) as info:
        EnvelopeKeys.parse(text)
    assert "a" * 32 not in str(info.value)
