"""Fixtures: one DynamoDB endpoint per session, a fresh table per test module, the real app over it."""

from __future__ import annotations

import base64
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.client import ClientTimeouts, make_client
from app.db.dynamo import Dynamo
from app.db.schema_admin import drop_table, ensure_table
from app.main import create_app
from tests.support.backend import backend_name, dynamodb_endpoint
from tests.support.clock import FakeClock
from tests.support.smtp import SmtpServer, free_port

TEST_ORIGIN = "https://app.example.com"
# DynamoDB Local on a loaded 2-core machine (CI, four test workers, argon2id hashing beside it) can take
# seconds to answer one request: the tests wait that long rather than turn a slow answer into a 503.
# What a timeout does is tested by injecting it (tests/faults), never by waiting for a slow engine.
LOCAL_TIMEOUTS = ClientTimeouts(connect_seconds=10, read_seconds=10)


OPS_REPORT = pytest.StashKey[list[str]]()  # lines of the deploy checks' closing report (tests/ops/conftest.py)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend_name() != "moto":
        return
    skip = pytest.mark.skip(reason="needs DynamoDB Local (TEST_BACKEND=moto)")
    for item in items:
        if "dynamodb_local" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: send the deploy checks' lines to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["ops_report"] = session.config.stash.get(OPS_REPORT, [])


def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: gather each worker's deploy-check lines."""
    node.config.stash.setdefault(OPS_REPORT, []).extend(getattr(node, "workeroutput", {}).get("ops_report", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(OPS_REPORT, [])
    if lines:
        terminalreporter.section("deploy checks")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def endpoint_url() -> Iterator[str]:
    with dynamodb_endpoint() as url:
        yield url


@pytest.fixture(scope="session")
def ddb_client(endpoint_url: str) -> Any:
    return make_client(region="us-east-1", endpoint_url=endpoint_url, timeouts=LOCAL_TIMEOUTS)


@pytest.fixture(scope="module")
def table_name(request: pytest.FixtureRequest, ddb_client: Any) -> Iterator[str]:
    module = re.sub(r"[^A-Za-z0-9]", "-", request.module.__name__.rsplit(".", 1)[-1])[:40]
    name = f"t-{module}-{uuid.uuid4().hex[:8]}"
    ensure_table(ddb_client, name)
    yield name
    drop_table(ddb_client, name)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server in this process for the module (the worker and the email tests send to it)."""
    server = SmtpServer(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(endpoint_url: str, table_name: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "table_name": table_name,
        "dynamodb_endpoint_url": endpoint_url,
        "aws_region": "us-east-1",
        "jwt_secret": secrets.token_urlsafe(48),
        "ach_local_key": base64.b64encode(os.urandom(32)).decode(),
        "cors_origins": TEST_ORIGIN,
        "debug_db_metrics": True,
        "aws_connect_timeout_seconds": LOCAL_TIMEOUTS.connect_seconds,
        "aws_read_timeout_seconds": LOCAL_TIMEOUTS.read_seconds,
        # and a write that keeps losing races (20 writers of one loan, two apps) is re-run for as long as
        # the settings allow: a loaded machine's slow commits must not turn into 409s
        "write_retry_seconds": 20,
        # the daily quota (app/loans/quota.py) is tested by tests/loans/test_daily_quota.py; elsewhere a test's
        # borrower may create more loans in one day than a real one ever does
        "loan_create_daily_limit": 10_000,
        "invitation_daily_limit": 100_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(endpoint_url: str, table_name: str) -> Settings:
    return make_settings(endpoint_url, table_name)


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Dynamo:
    resources = app.state.resources
    database: Dynamo = resources.db
    return database
