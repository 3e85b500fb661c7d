"""Lateness from the clock at read time, the late filter of my-loans, and the dashboard's servicing figures.

Time moves through the clock dependency (never by sleeping); tokens are renewed after each move.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import accept, cancel, create_loan, exact
from tests.servicing.conftest import new_loan
from tests.servicing.test_repayments import move_clock, read, repay


def late_ids(client: TestClient, borrower: TestUser, query: str = "status=active&late=true") -> set[str]:
    response = client.get(f"/loans/my-loans?{query}&limit=100", headers=borrower.headers)
    assert response.status_code == 200, response.text
    return {loan["loanId"] for loan in response.json()["items"]}


def test_a_missed_due_date_makes_the_loan_late_without_any_job(
    app: FastAPI, clock: Any, client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: activated 2026-01-31, first installment due 2026-02-28; on the due date itself it is not late
    move_clock(app, clock, people, days=28)
    assert read(client, people["bea"], f"/loans/{loan_id}")["daysPastDue"] == 0
    assert late_ids(client, people["bea"]) == set()
    # When: the day after, with nothing written in between
    move_clock(app, clock, people, days=1)
    # Then: one day past due, in the loan, the list filter and the installment's status
    assert read(client, people["bea"], f"/loans/{loan_id}")["daysPastDue"] == 1
    assert late_ids(client, people["bea"]) == {loan_id}
    assert late_ids(client, people["bea"], "late=true") == {loan_id}
    assert read(client, people["bea"], f"/loans/{loan_id}/schedule")["installments"][0]["status"] == "late"


def test_the_late_filter_uses_stored_due_dates_and_activation_dates_alike(
    app: FastAPI, clock: Any, client: TestClient, people: dict[str, TestUser]
) -> None:
    # Given: A never repaid, B with its first installment paid, both activated 2026-01-31; C activated 2026-02-20
    a = new_loan(client, people)
    b = new_loan(client, people)
    assert repay(client, people, b, "88.85").status_code == 201
    move_clock(app, clock, people, days=20)
    c = new_loan(client, people)
    # When: 2026-03-01, after A's first due date (Feb 28) but before B's next (Mar 31) and C's first (Mar 20)
    move_clock(app, clock, people, days=9)
    assert late_ids(client, people["bea"]) == {a}
    # When: 2026-04-01, every one of them has a due date behind it
    move_clock(app, clock, people, days=31)
    assert late_ids(client, people["bea"]) == {a, b, c}
    # And: paying A up to date takes it off the list
    owed = read(client, people["bea"], f"/loans/{a}")["nextPayment"]
    assert repay(client, people, a, str(owed["amount"] * 2)).status_code == 201  # installments 1 and 2
    assert a not in late_ids(client, people["bea"])


def test_only_active_loans_are_late(app: FastAPI, clock: Any, client: TestClient, people: dict[str, TestUser]) -> None:
    # Given: a pending loan of Bea's, long after it was created
    create_loan(client, people["bea"], [(people["lou"], "100.00")])
    move_clock(app, clock, people, days=90)
    # Then: asking for late loans among pending ones finds none, without reading anything
    response = client.get("/loans/my-loans?status=pending&late=true", headers=people["bea"].headers)
    assert (response.status_code, response.json(), response.headers["x-db-requests"]) == (200, {"items": [], "nextCursor": None}, "0")


def test_dashboards_after_a_scripted_history_match_the_api_lists(
    app: FastAPI, clock: Any, client: TestClient, people: dict[str, TestUser]
) -> None:
    # Given: Bea borrows a repaid loan, an active loan paid once, a late loan, a pending loan and a cancelled one;
    # Lou lends on all of them and also borrows from Bea (dual role)
    bea, lou = people["bea"], people["lou"]
    repaid = new_loan(client, people)
    payoff = read(client, bea, f"/loans/{repaid}/payoff")["amount"]
    assert repay(client, people, repaid, str(payoff)).status_code == 201
    paid_once = new_loan(client, people, ("300", "200", "100"), rate="9.5", term=6)
    assert repay(client, people, paid_once, "150.00").status_code == 201
    late = new_loan(client, people, ("50", "25", "25"), rate="0", term=3)
    create_loan(client, bea, [(lou, "100.00")])  # pending
    cancelled = create_loan(client, bea, [(lou, "200.00")])
    assert cancel(client, bea, cancelled["loanId"]).status_code == 200
    lous_loan = create_loan(client, lou, [(bea, "500.00")])
    assert accept(client, bea, lous_loan["loanId"]).status_code == 200
    move_clock(app, clock, people, days=40)  # 2026-03-12: the 0% loan missed Feb 28; the other paid ahead, next due Mar 31
    assert late_ids(client, bea) == {late}
    # When: each reads their dashboard (and we count its DynamoDB requests)
    board = client.get("/user/dashboard", headers=bea.headers)
    assert board.headers["x-db-requests"] == "2"
    figures = exact(board)
    # Then: Bea's borrower figures equal what her loan list says, recomputed here
    mine = exact(client.get("/loans/my-loans?limit=100", headers=bea.headers))["items"]
    active = [loan for loan in mine if loan["status"] == "active"]
    next_payments = sorted((loan["nextPayment"]["dueDate"], loan["loanId"], loan["nextPayment"]["amount"]) for loan in active)
    assert figures["borrower"]["repaidLoans"] == sum(1 for loan in mine if loan["status"] == "repaid") == 1
    assert figures["borrower"]["outstandingPrincipal"] == sum(loan["outstandingPrincipal"] for loan in active)
    assert figures["borrower"]["lateLoans"] == sum(1 for loan in active if loan["daysPastDue"] > 0) >= 1
    due, loan_id, amount = next_payments[0]
    assert figures["borrower"]["nextPayment"] == {"loanId": loan_id, "dueDate": due, "amount": amount}
    # And: Lou's lender figures equal his own entries in the loans he accepted
    lous = exact(client.get("/user/dashboard", headers=lou.headers))
    accepted = exact(client.get("/lender/loans?limit=100", headers=lou.headers))["items"]
    entries = [loan["lenders"][0] for loan in accepted if loan["status"] in ("active", "repaid")]
    assert lous["lender"]["principalRepaid"] == sum(entry["principalRepaid"] for entry in entries) > 0
    assert lous["lender"]["interestEarned"] == sum(entry["interestPaid"] for entry in entries) > 0
    assert lous["lender"]["outstandingPrincipal"] == sum(entry["outstandingPrincipal"] for entry in entries)
    assert lous["borrower"]["activeLoans"] == 1 and lous["roles"] == ["borrower", "lender"]
    # And: Bea as a lender on Lou's loan
    assert figures["lender"]["outstandingPrincipal"] == D("500")
