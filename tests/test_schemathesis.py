"""Property-based fuzzing of every operation in our own OpenAPI schema, with schemathesis.

In-process over ASGI, on DynamoDB Local, authenticated as a real registered user who borrows one
loan and is invited to another, so generated requests reach real data paths as well as the
validation ones. Checks: no server errors, responses conform to the documented schemas, no
undocumented status codes, documented content types. A fixed seed keeps the run repeatable.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import make_settings
from tests.factories import a_user
from tests.loans.helpers import create_loan
from tests.support.clock import FakeClock

STATED_REFUSALS = {"BAD_REQUEST", "VALIDATION_ERROR"}  # what a request valid against the schema must never get


@schemathesis.check
def positive_data_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request generated from the schema as valid is never refused as malformed or invalid.

    Business rules (CONTRIBUTIONS_MISMATCH, OVERPAYMENT, ...), missing resources and state conflicts
    are stated in the schema as codes of their own; a 400 or a 422 VALIDATION_ERROR would mean the
    server refuses a value the schema allows for a reason it does not state.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    error = response.json()["error"]
    stated = [d for d in error["details"] if d.get("field") == "cursor" or str(d.get("field")).endswith("routingNumber")]
    if error["details"] and len(stated) == len(error["details"]):
        # The schema states both: only a cursor the API issued for this list; an ABA checksum (x-checksum)
        return None
    if error["code"] in STATED_REFUSALS:
        raise AssertionError(f"a value the schema allows was refused: {response.status_code} {response.text}")
    return None


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    positive_data_is_accepted,
]
EXAMPLES_PER_OPERATION = 100
SEED = 20261122


@pytest.fixture(scope="module")
def fuzzed_app(endpoint_url: str, table_name: str) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name), clock=FakeClock())


@pytest.fixture(scope="module")
def caller_headers(fuzzed_app: FastAPI) -> dict[str, str]:
    """A registered user with a loan of their own and an invitation to somebody else's."""
    client = TestClient(fuzzed_app)
    caller, other = a_user(fuzzed_app), a_user(fuzzed_app)
    create_loan(client, caller, [(other, "150.00")])
    create_loan(client, other, [(caller, "75.25")])
    return caller.headers


# The schema as the app serves it; it does not depend on settings, so it is read once at import.
# (schemathesis' lazy fixture loader relies on a pytest internal that pytest 9 removed; requests go
# to the fixture's app through `app=` instead.)
schema = schemathesis.openapi.from_dict(create_app(make_settings("http://127.0.0.1:9", "unused")).openapi())


@pytest.mark.dynamodb_local
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_every_operation_honours_its_schema(case: Any, fuzzed_app: FastAPI, caller_headers: dict[str, str]) -> None:
    case.call_and_validate(app=fuzzed_app, headers=caller_headers, checks=CHECKS)
