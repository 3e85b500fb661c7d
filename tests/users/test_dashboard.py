"""GET /user/dashboard on DynamoDB Local after a scripted history, and its DynamoDB request budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import renew_token

ACH = {"accountHolderName": "Test Lender", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking"}


def exact(response: Any) -> dict[str, Any]:
    """The body with numbers read as Decimal, so sums are checked to the cent."""
    import json

    return json.loads(response.text, parse_float=Decimal)  # type: ignore[no-any-return]


class Market:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def loan(self, borrower: TestUser, amount: str, *lenders: tuple[TestUser, str]) -> str:
        body = {
            "amount": Decimal(amount),
            "purpose": "test loan",
            "termMonths": 12,
            "interestRate": Decimal("5.5"),
            "lenders": [{"email": lender.email, "amount": Decimal(share)} for lender, share in lenders],
        }
        from app.jsonio import dumps_exact

        response = self.client.post("/loans", content=dumps_exact(body), headers={**borrower.headers, "content-type": "application/json"})
        assert response.status_code == 201, response.text
        return str(response.json()["loanId"])

    def accept(self, lender: TestUser, loan_id: str) -> None:
        response = self.client.put(f"/lender/accept/{loan_id}", json={"achDetails": ACH}, headers=lender.headers)
        assert response.status_code == 200, response.text

    def decline(self, lender: TestUser, loan_id: str) -> None:
        response = self.client.put(f"/lender/decline/{loan_id}", headers=lender.headers)
        assert response.status_code == 200, response.text

    def cancel(self, borrower: TestUser, loan_id: str) -> None:
        response = self.client.post(f"/loans/{loan_id}/cancel", headers=borrower.headers)
        assert response.status_code == 200, response.text

    def dashboard(self, user: TestUser) -> dict[str, Any]:
        response = self.client.get("/user/dashboard", headers=user.headers)
        assert response.status_code == 200, response.text
        assert int(response.headers["x-db-requests"]) <= 2
        return exact(response)


def money(value: str) -> Decimal:
    return Decimal(value)


def next_payment_of(client: TestClient, borrower: TestUser, amount: str) -> dict[str, Any]:
    """The next payment of the borrower's active loan of `amount`, as GET /loans/my-loans shows it."""
    (loan,) = [
        loan
        for loan in exact(client.get("/loans/my-loans?status=active", headers=borrower.headers))["items"]
        if loan["amount"] == money(amount)
    ]
    return {"loanId": loan["loanId"], **loan["nextPayment"]}


@pytest.fixture
def history(app: FastAPI, client: TestClient) -> dict[str, TestUser]:
    """Given: B borrows four loans and lends on five of C's; L and M lend to B (and L is invited by C)."""
    b, c, lender_l, lender_m = (a_user(app, first_name=name) for name in ("Bea", "Cal", "Lou", "Max"))
    market = Market(client)
    loan1 = market.loan(b, "1000.10", (lender_l, "600.05"), (lender_m, "400.05"))
    market.accept(lender_l, loan1)
    market.accept(lender_m, loan1)  # loan1 active
    loan2 = market.loan(b, "500.00", (lender_l, "200.00"), (lender_m, "300.00"))
    market.accept(lender_l, loan2)  # loan2 pending, funded 200
    loan3 = market.loan(b, "250.50", (lender_l, "250.50"))
    market.cancel(b, loan3)  # loan3 cancelled
    market.loan(b, "99.99", (lender_m, "99.99"))  # loan4 pending, nothing funded

    loan5 = market.loan(c, "300.00", (b, "100.00"), (lender_l, "200.00"))
    market.accept(b, loan5)  # B accepted, loan5 still pending
    loan6 = market.loan(c, "50.25", (b, "50.25"))
    market.decline(b, loan6)
    market.loan(c, "100.00", (b, "70.00"), (lender_m, "30.00"))  # loan7: B still invited
    loan8 = market.loan(c, "12.00", (b, "12.00"))
    market.cancel(c, loan8)  # B's invitation on a cancelled loan
    loan9 = market.loan(c, "40.00", (b, "40.00"))
    market.accept(b, loan9)  # loan9 active
    return {"b": b, "c": c, "l": lender_l, "m": lender_m}


def test_dual_role_user_gets_both_sets_of_figures(client: TestClient, history: dict[str, TestUser]) -> None:
    board = Market(client).dashboard(history["b"])
    assert board["roles"] == ["borrower", "lender"]
    assert board["borrower"] == {
        "totalLoans": 4,
        "pendingLoans": 2,
        "activeLoans": 1,
        "cancelledLoans": 1,
        "totalRequested": money("1600.09"),
        "totalFunded": money("1200.10"),
        "activeBorrowed": money("1000.10"),
        "repaidLoans": 0,
        "outstandingPrincipal": money("1000.10"),
        "lateLoans": 0,
        "nextPayment": next_payment_of(client, history["b"], "1000.10"),
    }
    assert board["lender"] == {
        "pendingInvitations": 1,
        "pendingAmount": money("70.00"),
        "acceptedCount": 2,
        "totalCommitted": money("140.00"),
        "activeInvestments": money("40.00"),
        "declinedCount": 1,
        "outstandingPrincipal": money("40.00"),
        "principalRepaid": 0,
        "interestEarned": 0,
    }


def test_lender_figures_follow_each_loans_fate(client: TestClient, history: dict[str, TestUser]) -> None:
    market = Market(client)
    lou = market.dashboard(history["l"])
    assert lou["roles"] == ["borrower", "lender"]
    assert lou["lender"] == {
        "pendingInvitations": 1,
        "pendingAmount": money("200.00"),
        "acceptedCount": 2,
        "totalCommitted": money("800.05"),
        "activeInvestments": money("600.05"),
        "declinedCount": 0,
        "outstandingPrincipal": money("600.05"),
        "principalRepaid": 0,
        "interestEarned": 0,
    }
    assert lou["borrower"]["totalLoans"] == 0 and lou["borrower"]["totalRequested"] == 0
    max_ = market.dashboard(history["m"])
    assert max_["lender"] == {
        "pendingInvitations": 3,
        "pendingAmount": money("429.99"),
        "acceptedCount": 1,
        "totalCommitted": money("400.05"),
        "activeInvestments": money("400.05"),
        "declinedCount": 0,
        "outstandingPrincipal": money("400.05"),
        "principalRepaid": 0,
        "interestEarned": 0,
    }


def test_borrower_only_user_has_no_lender_figures(client: TestClient, history: dict[str, TestUser]) -> None:
    cal = Market(client).dashboard(history["c"])
    assert cal["roles"] == ["borrower"] and cal["lender"] is None
    assert cal["borrower"] == {
        "totalLoans": 5,
        "pendingLoans": 3,  # loan5 (funded 100), loan6 (declined by B, still pending), loan7
        "activeLoans": 1,  # loan9
        "cancelledLoans": 1,  # loan8
        "totalRequested": money("490.25"),
        "totalFunded": money("140.00"),
        "activeBorrowed": money("40.00"),
        "repaidLoans": 0,
        "outstandingPrincipal": money("40.00"),
        "lateLoans": 0,
        "nextPayment": next_payment_of(client, history["c"], "40.00"),
    }


def test_new_user_dashboard_is_all_zero(app: FastAPI, client: TestClient) -> None:
    board = Market(client).dashboard(a_user(app))
    assert board == {
        "roles": ["borrower"],
        "borrower": {
            "totalLoans": 0,
            "pendingLoans": 0,
            "activeLoans": 0,
            "cancelledLoans": 0,
            "totalRequested": 0,
            "totalFunded": 0,
            "activeBorrowed": 0,
            "repaidLoans": 0,
            "outstandingPrincipal": 0,
            "lateLoans": 0,
            "nextPayment": None,
        },
        "lender": None,
    }


def test_dashboard_needs_a_token(client: TestClient) -> None:
    assert client.get("/user/dashboard").status_code == 401


@pytest.mark.dynamodb_local
def test_dashboard_costs_at_most_two_requests_for_100_loans_and_100_invitations(app: FastAPI, client: TestClient) -> None:
    market = Market(client)
    dual, other = a_user(app), a_user(app)
    for _ in range(100):
        market.loan(dual, "20.00", (other, "20.00"))
    invitations = [market.loan(other, "25.00", (dual, "25.00")) for _ in range(100)]
    market.accept(dual, invitations[0])

    counted: list[str] = []
    app.state.resources.db.client.meta.events.register("before-call.dynamodb", lambda model, **_: counted.append(model.name))
    board = market.dashboard(dual)
    assert counted == ["Query", "Query"]
    assert board["borrower"]["totalLoans"] == 100 and board["borrower"]["totalRequested"] == money("2000.00")
    assert board["lender"]["pendingInvitations"] == 99 and board["lender"]["activeInvestments"] == money("25.00")


def test_a_loan_past_its_funding_deadline_counts_as_expired_before_the_expiry_job_runs(
    app: FastAPI, client: TestClient, clock: Any
) -> None:
    # Given: Lou accepted 60 of Bea's 100; Max is still invited; nobody funds the rest
    bea, lou, max_ = (a_user(app, first_name=name) for name in ("Bea", "Lou", "Max"))
    market = Market(client)
    loan_id = market.loan(bea, "100", (lou, "60"), (max_, "40"))
    market.accept(lou, loan_id)
    assert market.dashboard(lou)["lender"]["acceptedCount"] == 1
    # When: the funding deadline passes, and the expiry job has not run
    clock.advance(days=15)
    for person in (bea, lou, max_):
        renew_token(app, person)
    assert client.get(f"/loans/{loan_id}", headers=lou.headers).json()["status"] == "expired"
    # Then: every dashboard reads it as expired, like the loan itself
    lender = market.dashboard(lou)["lender"]
    assert (lender["acceptedCount"], lender["totalCommitted"], lender["activeInvestments"]) == (0, 0, 0)
    borrower = market.dashboard(bea)["borrower"]
    assert (borrower["pendingLoans"], borrower["totalRequested"], borrower["totalFunded"], borrower["totalLoans"]) == (0, 0, 0, 1)
