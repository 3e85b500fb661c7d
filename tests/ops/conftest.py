"""Ops tier helpers: the `slow` marker and the lines of the closing report of the deploy checks (zip sizes, checkov).

The report itself is printed by tests/conftest.py (also when xdist's workers ran the tests: each
sends its lines to the controller).
"""

from __future__ import annotations

import pytest

from tests.conftest import OPS_REPORT


def pytest_configure(config: pytest.Config) -> None:
    # Registered here rather than in pytest.ini so the ops tier stays self-contained; slow tests still
    # run by default (deselect them with -m "not slow" for a quick loop).
    config.addinivalue_line("markers", "slow: builds packages or runs external tools (tens of seconds); part of the default run")


@pytest.fixture(scope="session")
def ops_report(pytestconfig: pytest.Config) -> list[str]:
    """Lines printed after the run: the numbers the deploy issue asks to see (sizes, scan counts)."""
    return pytestconfig.stash.setdefault(OPS_REPORT, [])
