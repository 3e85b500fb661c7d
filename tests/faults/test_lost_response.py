"""A write whose response is lost after DynamoDB committed it: botocore retries it, and it must apply once.

The injected fault sends the real request to DynamoDB Local (which commits it) and then raises a
read timeout, as a dropped connection would; botocore (AWS_MAX_ATTEMPTS=3) sends the same request
again. Without an idempotency token the retry would be a second transaction, refused by conditions
the first one changed (an accept would answer 409 ALREADY_RESPONDED for an acceptance that happened,
a repayment would be recomputed and recorded twice). botocore fills TransactWriteItems'
ClientRequestToken itself (the service model marks it an idempotency token) and keeps it across its
retries, so DynamoDB answers the retry with the first commit's success: this test pins that.
"""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal
from typing import Any

from botocore.exceptions import ReadTimeoutError
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.dynamo import Dynamo
from app.main import create_app
from tests.factories import TestUser, a_user
from tests.faults.injection import inject
from tests.loans.helpers import accept, create_loan, exact
from tests.support.clock import FakeClock


def committed_then_lost(request: Any) -> BaseException:
    """Deliver the request to DynamoDB Local for real, then lose its answer."""
    url = request.url  # the test's own DynamoDB Local, over http
    delivered = urllib.request.Request(url, data=request.body, headers=dict(request.headers), method=request.method)  # noqa: S310
    with urllib.request.urlopen(delivered, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
    return ReadTimeoutError(endpoint_url=request.url)


def test_an_acceptance_whose_response_was_lost_is_applied_once(settings: Settings, clock: FakeClock) -> None:
    app = create_app(settings.model_copy(update={"aws_max_attempts": 3}), clock=clock)
    db: Dynamo = app.state.resources.db
    people: dict[str, TestUser] = {name: a_user(app, first_name=name) for name in ("bea", "lou", "max")}
    with TestClient(app) as client:
        loan = create_loan(client, people["bea"], [(people["lou"], "600.05"), (people["max"], "400.05")])
        with inject(db.client, "TransactWriteItems", committed_then_lost, times=1) as seen:
            answer = accept(client, people["lou"], loan["loanId"])
        assert answer.status_code == 200, answer.text
        assert seen.calls == 2  # the lost one, and botocore's retry
        funded = exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))["fundedAmount"]
        assert funded == Decimal("600.05")


def test_botocore_sends_an_idempotency_token_with_every_transaction(settings: Settings, clock: FakeClock) -> None:
    app = create_app(settings, clock=clock)
    db: Dynamo = app.state.resources.db
    tokens: list[str] = []

    def record(request: Any, **_: Any) -> None:
        tokens.append(json.loads(request.body).get("ClientRequestToken", ""))

    db.client.meta.events.register("before-send.dynamodb.TransactWriteItems", record, unique_id="record-token")
    try:
        a_user(app, verified=False)  # registration is one TransactWriteItems (verifying and signing in are more)
    finally:
        db.client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", unique_id="record-token")
    assert len(tokens) == 1 and len(tokens[0]) >= 32
