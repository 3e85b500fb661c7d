"""The DynamoDB request budget of the servicing endpoints (X-DB-Requests, DEBUG_DB_METRICS on in tests).

GET schedule / payoff: Query of the loan partition + GetItem of the schedule. POST repayments: the same two reads
+ ONE TransactWriteItems (+ the PutItem claiming an Idempotency-Key). GET repayments: Query of the loan + Query of
its repayments. A malformed loan id is refused before any read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import post_json


def calls(response: Any, status: int = 200) -> int:
    assert response.status_code == status, response.text
    return int(response.headers["X-DB-Requests"])


def record(client: TestClient, user: TestUser, loan_id: str, amount: str = "10.00", key: str | None = None) -> Any:
    headers = {**user.headers, **({"Idempotency-Key": key} if key else {})}
    return post_json(client, f"/loans/{loan_id}/repayments", {"amount": Decimal(amount)}, headers)


@pytest.mark.parametrize("who", ["bea", "lou"])
def test_schedule_and_payoff_are_one_query_and_one_get(client: TestClient, people: dict[str, TestUser], loan_id: str, who: str) -> None:
    user = people[who]
    assert calls(client.get(f"/loans/{loan_id}/schedule", headers=user.headers)) == 2
    assert calls(client.get(f"/loans/{loan_id}/payoff", headers=user.headers)) == 2

    assert calls(record(client, people["bea"], loan_id), 201) == 3  # now the schedule item exists: still one GetItem

    assert calls(client.get(f"/loans/{loan_id}/schedule", headers=user.headers)) == 2
    assert calls(client.get(f"/loans/{loan_id}/payoff", headers=user.headers)) == 2


def test_recording_a_repayment_is_two_reads_and_one_transaction(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    assert calls(record(client, bea, loan_id), 201) == 3  # Query + GetItem schedule + TransactWriteItems
    assert calls(record(client, bea, loan_id), 201) == 3  # the second one reads the stored schedule the same way


def test_an_idempotency_key_costs_one_put_and_a_replay_only_that_put(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    assert calls(record(client, bea, loan_id, key="budget"), 201) == 4  # + PutItem claiming the key
    assert calls(record(client, bea, loan_id, key="budget"), 201) == 1  # replay: the refused PutItem returns the record


def test_listing_repayments_is_two_queries_per_page(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    assert calls(client.get(f"/loans/{loan_id}/repayments", headers=bea.headers)) == 2
    for amount in ("1.00", "2.00", "3.00"):
        record(client, bea, loan_id, amount)

    first = client.get(f"/loans/{loan_id}/repayments", params={"limit": 2}, headers=bea.headers)
    assert calls(first) == 2
    cursor = first.json()["nextCursor"]
    assert calls(client.get(f"/loans/{loan_id}/repayments", params={"limit": 2, "cursor": cursor}, headers=bea.headers)) == 2
    assert calls(client.get(f"/loans/{loan_id}/repayments", headers=people["ned"].headers)) == 2


@pytest.mark.parametrize("route", ["schedule", "payoff", "repayments", "record"])
def test_a_malformed_loan_id_is_refused_without_a_read(client: TestClient, people: dict[str, TestUser], route: str) -> None:
    bea = people["bea"]
    if route == "record":
        response = record(client, bea, "not-a-loan-id")
    else:
        response = client.get(f"/loans/not-a-loan-id/{route}", headers=bea.headers)

    assert calls(response, 404) == 0


def test_an_invalid_amount_is_refused_without_a_read(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    assert calls(record(client, people["bea"], loan_id, "0.001"), 422) == 0
