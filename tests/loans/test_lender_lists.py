"""GET /lender/pending and GET /lender/loans: open invitations with live figures, and accepted loans."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, cancel, create_loan, decline, exact
from tests.support.clock import FakeClock


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name, last_name="Doe") for name in ("bea", "lou", "max")}


def test_pending_lists_the_invitation_with_its_terms(client: TestClient, people: dict[str, TestUser]) -> None:
    loan = create_loan(client, people["bea"], [(people["lou"], "600.05"), (people["max"], "400.05")])

    response = client.get("/lender/pending", headers=people["lou"].headers)

    assert response.status_code == 200
    assert exact(response) == {
        "items": [
            {
                "loanId": loan["loanId"],
                "borrowerName": "bea Doe",
                "purpose": "Bakery oven",
                "loanAmount": Decimal("1000.10"),
                "amount": Decimal("600.05"),
                "fundedAmount": Decimal("0"),
                "termMonths": 12,
                "interestRate": Decimal("5.25"),
                "invitedAt": loan["createdAt"],
                "fundingDeadline": loan["fundingDeadline"],
            }
        ],
        "nextCursor": None,
    }


def test_pending_shows_the_live_funded_amount(client: TestClient, people: dict[str, TestUser]) -> None:
    loan = create_loan(client, people["bea"], [(people["lou"], "600.05"), (people["max"], "400.05")])
    accept(client, people["lou"], loan["loanId"])

    items = exact(client.get("/lender/pending", headers=people["max"].headers))["items"]

    assert [(item["loanId"], item["fundedAmount"]) for item in items] == [(loan["loanId"], Decimal("600.05"))]


def test_pending_leaves_out_answered_cancelled_and_active_loans(client: TestClient, clock: FakeClock, people: dict[str, TestUser]) -> None:
    # Given: Max is invited to four loans: one he declined, one cancelled, one active, one still open
    bea, lou, max_ = people["bea"], people["lou"], people["max"]
    declined = create_loan(client, bea, [(max_, "100.00")])["loanId"]
    decline(client, max_, declined)
    cancelled = create_loan(client, bea, [(max_, "200.00")])["loanId"]
    cancel(client, bea, cancelled)
    active = create_loan(client, bea, [(lou, "300.00"), (max_, "300.00")])["loanId"]
    accept(client, max_, active)
    accept(client, lou, active)
    still_open = create_loan(client, bea, [(max_, "400.00")])["loanId"]
    # When: Max reads his pending invitations
    items = client.get("/lender/pending", headers=max_.headers).json()["items"]
    # Then: only the open one
    assert [item["loanId"] for item in items] == [still_open]


def test_pending_is_newest_first_and_pages(client: TestClient, clock: FakeClock, people: dict[str, TestUser]) -> None:
    ids = []
    for amount in ("100.00", "200.00", "300.00"):
        ids.append(create_loan(client, people["bea"], [(people["lou"], amount)])["loanId"])
        clock.advance(seconds=1)

    first = client.get("/lender/pending", params={"limit": 2}, headers=people["lou"].headers).json()
    second = client.get("/lender/pending", params={"limit": 2, "cursor": first["nextCursor"]}, headers=people["lou"].headers).json()

    assert [item["loanId"] for item in first["items"] + second["items"]] == ids[::-1]
    assert second["nextCursor"] is None
    tampered = client.get("/lender/pending", params={"cursor": first["nextCursor"] + "x"}, headers=people["lou"].headers)
    assert tampered.status_code == 422


def test_lender_loans_are_the_accepted_ones_in_the_lender_view(client: TestClient, clock: FakeClock, people: dict[str, TestUser]) -> None:
    bea, lou, max_ = people["bea"], people["lou"], people["max"]
    first = create_loan(client, bea, [(lou, "600.05"), (max_, "400.05")])["loanId"]
    accept(client, lou, first)
    clock.advance(seconds=1)
    second = create_loan(client, bea, [(lou, "50.00")])["loanId"]
    accept(client, lou, second)
    clock.advance(seconds=1)
    declined = create_loan(client, bea, [(lou, "70.00")])["loanId"]
    decline(client, lou, declined)
    create_loan(client, bea, [(lou, "80.00")])  # still invited

    response = client.get("/lender/loans", headers=lou.headers)

    assert response.status_code == 200
    page = exact(response)
    assert [loan["loanId"] for loan in page["items"]] == [second, first]
    assert page["items"][0]["status"] == "active"
    assert page["items"][1]["fundedAmount"] == Decimal("600.05") and page["items"][1]["status"] == "pending"
    assert [lender["email"] for lender in page["items"][1]["lenders"]] == [lou.email]
    assert page["items"][1]["lenders"][0]["status"] == "accepted"


def test_lender_loans_page_with_a_cursor(client: TestClient, clock: FakeClock, people: dict[str, TestUser]) -> None:
    ids = []
    for amount in ("100.00", "200.00", "300.00"):
        loan_id = create_loan(client, people["bea"], [(people["lou"], amount), (people["max"], "1.00")])["loanId"]
        accept(client, people["lou"], loan_id)
        ids.append(loan_id)
        clock.advance(seconds=1)

    first = client.get("/lender/loans", params={"limit": 2}, headers=people["lou"].headers).json()
    second = client.get("/lender/loans", params={"limit": 2, "cursor": first["nextCursor"]}, headers=people["lou"].headers).json()

    assert [loan["loanId"] for loan in first["items"] + second["items"]] == ids[::-1]
    assert client.get("/lender/loans", params={"cursor": "x.y"}, headers=people["lou"].headers).status_code == 422


def test_lender_lists_need_a_caller(client: TestClient) -> None:
    assert client.get("/lender/pending").status_code == 401
    assert client.get("/lender/loans").status_code == 401
    assert client.get("/lender/pending", headers={"Authorization": "Bearer nope"}).status_code == 401
