"""Funding deadlines and closing funding early, through the API on DynamoDB Local; time moves by the clock dependency."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, cancel, create_loan, decline, error_code, exact, loan_body, post_json, renew_token
from tests.loans.test_concurrency import race


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max", "ned", "stranger")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def move_to(app: FastAPI, clock: Any, people: dict[str, TestUser], moment: datetime) -> None:
    clock.current = moment
    for person in people.values():
        renew_token(app, person)


def quarter_loan(client: TestClient, people: dict[str, TestUser], **overrides: Any) -> dict[str, Any]:
    """1000.00 from Lou (500), Max (300) and Ned (200)."""
    lenders = [(people["lou"], "500.00"), (people["max"], "300.00"), (people["ned"], "200.00")]
    return create_loan(client, people["bea"], lenders, **overrides)


def test_the_deadline_is_creation_plus_funding_days(client: TestClient, people: dict[str, TestUser]) -> None:
    default = quarter_loan(client, people)
    assert at(default["fundingDeadline"]) - at(default["createdAt"]) == timedelta(days=14)
    custom = quarter_loan(client, people, fundingDays=30)
    assert at(custom["fundingDeadline"]) - at(custom["createdAt"]) == timedelta(days=30)
    assert custom["requestedAmount"] == custom["amount"]
    (invitation,) = [
        i for i in client.get("/lender/pending", headers=people["lou"].headers).json()["items"] if i["loanId"] == custom["loanId"]
    ]
    assert invitation["fundingDeadline"] == custom["fundingDeadline"]


@pytest.mark.parametrize("days", [0, 61, Decimal("12.5"), "14"])
def test_funding_days_out_of_range_are_refused(client: TestClient, people: dict[str, TestUser], days: Any) -> None:
    body = loan_body([(people["lou"], "10.00")], fundingDays=days)
    response = post_json(client, "/loans", body, people["bea"].headers)
    assert (response.status_code, error_code(response)) == (422, "VALIDATION_ERROR")
    assert response.json()["error"]["details"][0]["field"] == "fundingDays"


def test_an_accept_just_before_the_deadline_counts_and_just_after_fails(
    app: FastAPI, clock: Any, client: TestClient, people: dict[str, TestUser]
) -> None:
    loan = quarter_loan(client, people, fundingDays=1)
    deadline = at(loan["fundingDeadline"])
    move_to(app, clock, people, deadline - timedelta(seconds=1))
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    move_to(app, clock, people, deadline + timedelta(milliseconds=1))
    late = accept(client, people["max"], loan["loanId"])
    assert (late.status_code, error_code(late)) == (409, "LOAN_NOT_PENDING")


def test_from_the_deadline_on_the_loan_reads_expired_before_any_job_ran(
    app: FastAPI, clock: Any, client: TestClient, people: dict[str, TestUser]
) -> None:
    loan = quarter_loan(client, people, fundingDays=2)
    move_to(app, clock, people, at(loan["fundingDeadline"]))
    assert client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers).json()["status"] == "expired"
    assert client.get(f"/loans/{loan['loanId']}", headers=people["lou"].headers).json()["status"] == "expired"
    assert loan["loanId"] not in {i["loanId"] for i in client.get("/lender/pending", headers=people["lou"].headers).json()["items"]}
    expired = {item["loanId"] for item in client.get("/loans/my-loans?status=expired", headers=people["bea"].headers).json()["items"]}
    pending = {item["loanId"] for item in client.get("/loans/my-loans?status=pending", headers=people["bea"].headers).json()["items"]}
    assert loan["loanId"] in expired and loan["loanId"] not in pending
    for refused in (decline(client, people["max"], loan["loanId"]), cancel(client, people["bea"], loan["loanId"])):
        assert (refused.status_code, error_code(refused)) == (409, "LOAN_NOT_PENDING")
    board = client.get("/user/dashboard", headers=people["bea"].headers).json()["borrower"]
    assert board["pendingLoans"] == 0


def test_closing_funding_below_the_threshold_is_refused(client: TestClient, people: dict[str, TestUser]) -> None:
    loan = quarter_loan(client, people)
    accept(client, people["max"], loan["loanId"])  # 300 of 1000: under 50%
    response = client.post(f"/loans/{loan['loanId']}/close-funding", headers=people["bea"].headers)
    assert (response.status_code, error_code(response)) == (409, "INSUFFICIENT_FUNDING")


def test_closing_funding_activates_the_loan_on_what_is_funded(client: TestClient, people: dict[str, TestUser]) -> None:
    # Given: Lou (500) and Ned (200) accepted; Max still invited
    loan = quarter_loan(client, people)
    loan_id = loan["loanId"]
    assert accept(client, people["lou"], loan_id).status_code == 200
    assert accept(client, people["ned"], loan_id).status_code == 200
    # Then: only the borrower may close it
    assert client.post(f"/loans/{loan_id}/close-funding", headers=people["max"].headers).status_code == 403
    assert client.post(f"/loans/{loan_id}/close-funding", headers=people["stranger"].headers).status_code == 404
    # When: Bea closes funding
    response = client.post(f"/loans/{loan_id}/close-funding", headers=people["bea"].headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-db-requests"] == "2"  # the loan partition, then the transaction
    closed = exact(response)
    assert closed == exact(client.get(f"/loans/{loan_id}", headers=people["bea"].headers))  # the answer is the stored loan
    # Then: active on 700, the ask kept, Max withdrawn and unable to accept any more
    assert (closed["status"], closed["amount"], closed["requestedAmount"], closed["fundedAmount"]) == ("active", 700, 1000, 700)
    assert {entry["email"]: entry["status"] for entry in closed["lenders"]}[people["max"].email] == "withdrawn"
    refused = accept(client, people["max"], loan_id)
    assert refused.status_code in (404, 409)
    events = [event["type"] for event in client.get(f"/loans/{loan_id}/events?limit=100", headers=people["bea"].headers).json()["items"]]
    assert events[-2:] == ["funding_closed", "activated"]
    # And: the schedule is computed on the closed amount
    schedule = exact(client.get(f"/loans/{loan_id}/schedule", headers=people["bea"].headers))
    assert sum(item["principal"] for item in schedule["installments"]) == Decimal("700")
    again = client.post(f"/loans/{loan_id}/close-funding", headers=people["bea"].headers)
    assert (again.status_code, error_code(again)) == (409, "LOAN_NOT_PENDING")


@pytest.mark.dynamodb_local
@pytest.mark.parametrize("round_", range(3))
def test_closing_funding_racing_the_last_accepts_counts_each_accept_once(
    app: FastAPI, client: TestClient, people: dict[str, TestUser], round_: int
) -> None:
    # Given: Lou accepted (500 of 1000); When: Max's and Ned's accepts race Bea's close-funding
    loan = quarter_loan(client, people)
    loan_id = loan["loanId"]
    assert accept(client, people["lou"], loan_id).status_code == 200
    calls = [
        lambda c: c.put(f"/lender/accept/{loan_id}", json=_ach(), headers=people["max"].headers),
        lambda c: c.put(f"/lender/accept/{loan_id}", json=_ach(), headers=people["ned"].headers),
        lambda c: c.post(f"/loans/{loan_id}/close-funding", headers=people["bea"].headers),
    ]
    responses = race(app, calls)
    # Then: the loan is active once, on exactly the accepted contributions; each accept is counted or refused, never both
    final = exact(client.get(f"/loans/{loan_id}", headers=people["bea"].headers))
    assert final["status"] == "active"
    accepted = [entry for entry in final["lenders"] if entry["status"] == "accepted"]
    assert final["amount"] == final["fundedAmount"] == sum(entry["amount"] for entry in accepted)
    for lender, response in zip(("max", "ned"), responses[:2], strict=True):
        entry = next(e for e in final["lenders"] if e["email"] == people[lender].email)
        assert (response.status_code == 200) == (entry["status"] == "accepted"), (lender, response.text)
    events = Counter(
        event["type"] for event in client.get(f"/loans/{loan_id}/events?limit=100", headers=people["bea"].headers).json()["items"]
    )
    assert events["activated"] == 1 and events["expired"] == 0


def _ach() -> dict[str, Any]:
    from tests.loans.helpers import ach

    return ach()
