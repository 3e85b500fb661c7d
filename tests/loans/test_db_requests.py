"""The DynamoDB request budget of every loan and lender endpoint (X-DB-Requests, DEBUG_DB_METRICS on in tests).

These numbers are the ones in docs/data-model.md ("DynamoDB calls per endpoint"); a change here is a
change to the cost of the API and belongs in that table too.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import ach, create_loan, loan_body, post_json
from tests.support.clock import FakeClock


def calls(response: Any, status: int = 200) -> int:
    assert response.status_code == status, response.text
    return int(response.headers["X-DB-Requests"])


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app) for name in ("bea", "lou", "max")}


def test_create_is_one_read_of_the_borrower_and_one_transaction(client: TestClient, people: dict[str, TestUser]) -> None:
    body = loan_body([(people["lou"], "600.05"), (people["max"], "400.05")])
    keyed = {**people["bea"].headers, "Idempotency-Key": "budget"}

    assert calls(post_json(client, "/loans", body, people["bea"].headers), 201) == 2  # GetItem user + TransactWriteItems
    assert calls(post_json(client, "/loans", body, keyed), 201) == 3  # + PutItem claiming the key
    assert calls(post_json(client, "/loans", body, keyed), 201) == 1  # replay: the refused PutItem returns the record
    assert calls(post_json(client, "/loans", {**body, "amount": 1}, people["bea"].headers), 422) == 0


def test_reads_of_one_loan_are_one_query(client: TestClient, people: dict[str, TestUser]) -> None:
    loan_id = create_loan(client, people["bea"], [(people["lou"], "100.00")])["loanId"]

    assert calls(client.get(f"/loans/{loan_id}", headers=people["bea"].headers)) == 1
    assert calls(client.get(f"/loans/{loan_id}", headers=people["lou"].headers)) == 1
    assert calls(client.get(f"/loans/{loan_id}", headers=people["max"].headers), 404) == 1
    assert calls(client.get("/loans/not-a-loan-id", headers=people["bea"].headers), 404) == 0
    assert calls(client.get(f"/loans/{loan_id}/events", headers=people["bea"].headers)) == 2  # the loan (who may read) + a page of events


def test_my_loans_is_one_query_per_page(client: TestClient, clock: FakeClock, people: dict[str, TestUser]) -> None:
    for _ in range(5):
        create_loan(client, people["bea"], [(people["lou"], "100.00")])
        clock.advance(seconds=1)

    first = client.get("/loans/my-loans", params={"limit": 3}, headers=people["bea"].headers)
    assert calls(first) == 1
    assert calls(client.get("/loans/my-loans", params={"cursor": first.json()["nextCursor"]}, headers=people["bea"].headers)) == 1
    assert calls(client.get("/loans/my-loans", params={"status": "pending"}, headers=people["bea"].headers)) == 1
    assert calls(client.get("/loans/my-loans", headers=people["max"].headers)) == 1


def test_lender_lists_are_one_query_and_at_most_one_batch_get(client: TestClient, people: dict[str, TestUser]) -> None:
    lou = people["lou"]
    assert calls(client.get("/lender/pending", headers=lou.headers)) == 1  # nothing to complete: no BatchGetItem
    assert calls(client.get("/lender/loans", headers=lou.headers)) == 1
    for _ in range(3):
        loan_id = create_loan(client, people["bea"], [(lou, "100.00"), (people["max"], "50.00")])["loanId"]
    client.put(f"/lender/accept/{loan_id}", json=ach(), headers=lou.headers)

    assert calls(client.get("/lender/pending", headers=lou.headers)) == 2  # Query GSI1 + BatchGetItem
    assert calls(client.get("/lender/loans", headers=lou.headers)) == 2


def test_accept_decline_and_cancel_are_one_read_and_one_transaction(client: TestClient, people: dict[str, TestUser]) -> None:
    bea, lou, max_ = people["bea"], people["lou"], people["max"]
    loan_id = create_loan(client, bea, [(lou, "600.05"), (max_, "400.05")])["loanId"]

    # Query + Query of the lender's bank accounts + GetItem of the numbers' lock (new numbers: a new account)
    # + TransactWriteItems + GetItem (the live funding after a non-final acceptance)
    assert calls(client.put(f"/lender/accept/{loan_id}", json=ach(), headers=lou.headers)) == 5
    assert calls(client.put(f"/lender/accept/{loan_id}", json=ach(), headers=lou.headers), 409) == 1
    assert calls(client.put(f"/lender/decline/{loan_id}", headers=max_.headers)) == 2
    assert calls(client.post(f"/loans/{loan_id}/cancel", headers=bea.headers)) == 2
    assert calls(client.post(f"/loans/{loan_id}/cancel", headers=bea.headers), 409) == 1

    other = create_loan(client, bea, [(lou, "600.05"), (max_, "400.05")])["loanId"]
    client.put(f"/lender/accept/{other}", json=ach(), headers=lou.headers)
    # the final acceptance knows the figures it wrote: Query + Query of the accounts + GetItem of the lock + TransactWriteItems
    assert calls(client.put(f"/lender/accept/{other}", json=ach(), headers=max_.headers)) == 4
