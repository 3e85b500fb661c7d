"""Shared cast of the loan tests: Bea borrows 1000.10 from Lou (600.05) and Max (400.05); a stranger watches.

A test module that needs another cast defines its own `people`/`loan` fixtures, which take precedence.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import create_loan


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max", "stranger")}


@pytest.fixture
def loan(client: TestClient, people: dict[str, TestUser]) -> dict[str, Any]:
    """1000.10 split 600.05 (Lou) + 400.05 (Max)."""
    return create_loan(client, people["bea"], [(people["lou"], "600.05"), (people["max"], "400.05")])
