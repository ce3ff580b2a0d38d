"""The Prometheus alert rules (design section 8), checked and unit-tested with promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[3] / "ops" / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: ops/bootstrap.sh installs Debian's prometheus package.")
    return path


def test_rules_are_valid():
    """promtool accepts the rule file."""
    result = subprocess.run([_promtool(), "check", "rules", "alerts.yml"], cwd=RULES,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_fire_and_stay_silent_as_specified():
    """Write p95 > 750 ms and failure rate > 2% over 10 min fire; lower values stay silent."""
    result = subprocess.run([_promtool(), "test", "rules", "alerts_test.yml"], cwd=RULES,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
