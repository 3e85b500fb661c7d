"""Ops tier helpers: the `slow` marker and a closing report of the deploy checks (zip sizes, checkov)."""

from __future__ import annotations

import pytest

REPORT = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    # Registered here rather than in pytest.ini so the ops tier stays self-contained; slow tests still
    # run by default (deselect them with -m "not slow" for a quick loop).
    config.addinivalue_line("markers", "slow: builds packages or runs external tools (tens of seconds); part of the default run")
    config.stash[REPORT] = []


@pytest.fixture(scope="session")
def ops_report(pytestconfig: pytest.Config) -> list[str]:
    """Lines printed after the run: the numbers the deploy issue asks to see (sizes, scan counts)."""
    return pytestconfig.stash[REPORT]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(REPORT, [])
    if lines:
        terminalreporter.section("deploy checks")
        for line in lines:
            terminalreporter.write_line(line)
