"""Fault tests run the real app over DynamoDB Local with botocore's own retries off (AWS_MAX_ATTEMPTS=1).

Lost races are re-run RACE_ATTEMPTS times only (WRITE_RETRY_SECONDS near 0), and an unknown write
outcome is asked after for 0.3 s (WRITE_SETTLE_SECONDS), so the tests count attempts and stay fast.

So an injected fault reaches our retry loops (app/db/dynamo.py, app/retry.py) on its first
occurrence and the tests stay fast; test_botocore_retries_a_throttled_call_on_its_own covers the
default (3 attempts). The helpers read the table raw (Scan/Query: allowed in tests, never in app/).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.loans.helpers import create_loan


@pytest.fixture
def settings(endpoint_url: str, table_name: str) -> Settings:
    return make_settings(endpoint_url, table_name, aws_max_attempts=1, write_retry_seconds=0.01, write_settle_seconds=0.3)


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max")}


@pytest.fixture
def loan(client: TestClient, people: dict[str, TestUser]) -> dict[str, Any]:
    """1000.10 split 600.05 (Lou) + 400.05 (Max), nothing accepted yet."""
    return create_loan(client, people["bea"], [(people["lou"], "600.05"), (people["max"], "400.05")])
