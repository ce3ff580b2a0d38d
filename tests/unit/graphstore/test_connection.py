"""The app's Neo4j connection terms: TLS URIs with a private CA (NEO4J_TRUSTED_CA) for our
driver and neomodel's, and the settings that refuse a CA where it cannot apply."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import TrustCustomCAs

from graphstore.connection import open_driver, tls_target

ROOT = Path(__file__).resolve().parents[3]


def test_without_a_ca_of_our_own_the_uri_goes_to_the_driver_as_given() -> None:
    """No NEO4J_TRUSTED_CA: every scheme unchanged, no TLS option (+s trusts the system CAs)."""
    for uri in ("bolt://h:7687", "neo4j://h:7687", "neo4j+s://h:7687", "bolt+s://h:7687"):
        assert tls_target(uri, None) == (uri, {})


@pytest.mark.parametrize(("uri", "target"), [("neo4j+s://db.example:7687", "neo4j://db.example:7687"),
                                             ("bolt+s://db.example:7687", "bolt://db.example:7687")])
def test_a_private_ca_keeps_tls_on_and_trusts_exactly_that_ca(uri: str, target: str,
                                                              tmp_path: Path) -> None:
    """With a CA file, "+s" becomes encrypted=True with those CAs trusted (the driver refuses
    trust options on a +s URI), and the driver built from it is encrypted."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not read before the first connection")
    got, options = tls_target(uri, str(ca))
    assert got == target
    assert options["encrypted"] is True
    assert isinstance(options["trusted_certificates"], TrustCustomCAs)
    assert options["trusted_certificates"].certs == (str(ca),)
    with open_driver(uri, user="neo4j", password="x" * 8, trusted_ca=str(ca)) as driver:
        assert driver.encrypted


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.NEOMODEL_NEO4J_BOLT_URL.partition('://')[0])")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**clean, "DJANGO_SETTINGS_MODULE": "cap01.settings",
                               "DJANGO_DEBUG": "1", **env}, timeout=60)


def test_settings_refuse_a_ca_for_a_plain_scheme_or_a_missing_file(tmp_path: Path) -> None:
    """NEO4J_TRUSTED_CA with bolt:// or neo4j:// (no TLS to trust it for), or naming no file:
    the settings refuse to load, saying which variable and why."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    plain = _settings(NEO4J_URI="neo4j://127.0.0.1:7687", NEO4J_TRUSTED_CA=str(ca))
    assert plain.returncode != 0
    assert "NEO4J_TRUSTED_CA is for the TLS schemes" in plain.stderr
    missing = _settings(NEO4J_URI="neo4j+s://127.0.0.1:7687",
                        NEO4J_TRUSTED_CA=str(tmp_path / "nope.pem"))
    assert missing.returncode != 0
    assert "NEO4J_TRUSTED_CA: no file at" in missing.stderr


def test_neomodel_gets_the_scheme_without_s_only_with_a_private_ca(tmp_path: Path) -> None:
    """neomodel passes its TLS options (set by graphstore/apps.py) only to a URI without "+s":
    with NEO4J_TRUSTED_CA its URL drops the "+s"; without, it keeps the scheme as given."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with_ca = _settings(NEO4J_URI="neo4j+s://127.0.0.1:7687", NEO4J_TRUSTED_CA=str(ca))
    assert with_ca.returncode == 0, with_ca.stderr
    assert with_ca.stdout.strip() == "neo4j"
    system = _settings(NEO4J_URI="neo4j+s://127.0.0.1:7687")
    assert system.returncode == 0, system.stderr
    assert system.stdout.strip() == "neo4j+s"
