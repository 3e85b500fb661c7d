"""Concurrent repayments with real threads on DynamoDB Local: they serialise on the loan, never over-pay or double-allocate."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import TestUser
from tests.loans.helpers import error_code, exact, post_json
from tests.loans.test_concurrency import race
from tests.support.clock import FakeClock

pytestmark = pytest.mark.dynamodb_local


def repay_call(borrower: TestUser, loan_id: str, amount: D) -> Any:
    return lambda client: post_json(client, f"/loans/{loan_id}/repayments", {"amount": amount}, borrower.headers)


def books(client: TestClient, people: dict[str, TestUser], loan_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    loan = exact(client.get(f"/loans/{loan_id}", headers=people["bea"].headers))
    repayments = exact(client.get(f"/loans/{loan_id}/repayments?limit=100", headers=people["bea"].headers))["items"]
    return loan, repayments


def assert_books_balance(loan: dict[str, Any], repayments: list[dict[str, Any]]) -> None:
    """Every lender's totals equal the sum of their distributions; principal repaid + outstanding = the amount."""
    for entry in loan["lenders"]:
        mine = [d for repayment in repayments for d in repayment["distributions"] if d["lenderId"] == entry["lenderId"]]
        assert entry["principalRepaid"] == sum((d["principal"] for d in mine), D(0))
        assert entry["interestPaid"] == sum((d["interest"] for d in mine), D(0))
        assert entry["principalRepaid"] + entry["outstandingPrincipal"] == entry["amount"]
    for repayment in repayments:
        assert sum(d["principal"] for d in repayment["distributions"]) == repayment["principal"]
        assert sum(d["interest"] for d in repayment["distributions"]) == repayment["interest"]
        assert repayment["principal"] + repayment["interest"] == repayment["amount"]
    assert sum((r["principal"] for r in repayments), D(0)) + loan["outstandingPrincipal"] == loan["amount"]


def test_ten_repayments_that_together_exceed_the_payoff_never_over_pay(
    app: FastAPI, client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: a payoff of 1010.00 today; When: ten repayments of 150.00 (1,500.00 in all) arrive at once
    responses = race(app, [repay_call(people["bea"], loan_id, D("150.00")) for _ in range(10)])
    # Then: the accepted ones fit inside what was owed, the others are refused with a contract code
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {201, 422}, [r.text for r in responses]  # served one after the other: never 409 CONFLICT
    refused = {error_code(r) for r in responses if r.status_code != 201}
    assert refused <= {"OVERPAYMENT"}, refused
    assert statuses[201] >= 6  # 6 x 150.00 = 900.00 always fits inside the 1010.00
    loan, repayments = books(client, people, loan_id)
    assert len(repayments) == statuses[201]
    assert sum(r["amount"] for r in repayments) <= D("1010.00") + D("150.00")  # the last accepted one may carry later interest
    assert loan["outstandingPrincipal"] >= 0
    assert_books_balance(loan, repayments)


def test_ten_payoffs_at_once_repay_the_loan_exactly_once(
    app: FastAPI, client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    payoff = exact(client.get(f"/loans/{loan_id}/payoff", headers=people["bea"].headers))["amount"]
    responses = race(app, [repay_call(people["bea"], loan_id, payoff) for _ in range(10)])
    statuses = Counter(response.status_code for response in responses)
    assert statuses[201] == 1, [r.text for r in responses]
    assert {error_code(r) for r in responses if r.status_code != 201} == {"LOAN_NOT_ACTIVE"}
    loan, repayments = books(client, people, loan_id)
    assert loan["status"] == "repaid" and len(repayments) == 1
    events = exact(client.get(f"/loans/{loan_id}/events", headers=people["bea"].headers))["items"]
    assert [event["type"] for event in events].count("repaid") == 1
    assert_books_balance(loan, repayments)


def test_twenty_repayments_that_fit_the_payoff_are_all_applied_one_after_the_other(
    app: FastAPI, client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: a payoff of 1010.00; When: twenty repayments of 10.00 arrive at once on one server
    responses = race(app, [repay_call(people["bea"], loan_id, D("10.00")) for _ in range(20)])
    # Then: every one is applied (contention is served, not refused) and the books balance
    assert Counter(response.status_code for response in responses) == {201: 20}, [r.text for r in responses if r.status_code != 201]
    loan, repayments = books(client, people, loan_id)
    assert len(repayments) == 20 and sum(r["amount"] for r in repayments) == D("200.00")
    assert len({r["outstandingPrincipalAfter"] for r in repayments}) == 20  # each applied on the one before it
    assert_books_balance(loan, repayments)


def test_repayments_racing_from_two_servers_are_all_applied_by_the_tables_conditions(
    app: FastAPI, settings: Settings, clock: FakeClock, client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: a second app on the same table (another process, another Lambda sandbox: its own write queue),
    # so only DynamoDB's conditions order the writes between the two
    other = create_app(settings, clock=clock)
    assert other.state.resources.db is not app.state.resources.db
    calls = [repay_call(people["bea"], loan_id, D("10.00")) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=2) as servers:
        here, there = servers.map(lambda server: race(server, calls), [app, other])
    responses = [*here, *there]
    assert Counter(response.status_code for response in responses) == {201: 16}, [r.text for r in responses if r.status_code != 201]
    loan, repayments = books(client, people, loan_id)
    assert len(repayments) == 16 and sum(r["amount"] for r in repayments) == D("160.00")
    assert_books_balance(loan, repayments)
