"""Close funding across every mix of participant statuses: the transaction names only the placeholders it uses;
and what a lender whose invitation it withdrew is told.

DynamoDB refuses an ExpressionAttributeNames or ExpressionAttributeValues entry that no expression of the
operation uses, so a builder that always named `#pstatus` answered 500 when no participant was still invited.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.errors import TransactionCancelled
from app.db.expressions import Operation
from app.loans import repository, transitions
from app.loans.records import LoanRecord
from app.loans.transitions import Actor
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, create_loan, decline, exact, loan_body, post_json
from tests.support.clock import FakeClock

STATUSES = ("invited", "accepted", "declined")
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


def unused_placeholders(operation: Operation) -> set[str]:
    """The names and values an operation declares that none of its expressions uses (DynamoDB refuses them)."""
    ((_, spec),) = operation.items()
    expressions = [spec.get(part) for part in ("_update", "_condition") if spec.get(part) is not None]
    used = {token for expression in expressions for token in _PLACEHOLDER.findall(expression.text)}
    declared = {name for expression in expressions for name in (*expression.names, *expression.values)}
    return declared - used


def _record(statuses: tuple[str, ...]) -> LoanRecord:
    participants = [{"email": f"l{i}@example.com", "amount": Decimal(100), "status": status} for i, status in enumerate(statuses)]
    funded = Decimal(100) * statuses.count("accepted")
    loan = {"loanId": "0190d4c8-0000-7000-8000-000000000000", "borrowerId": "b", "amount": Decimal(100) * len(statuses)}
    loan.update(fundedAmount=funded, version=3, status="pending", participants=participants)
    invitations = [{**entry, "entity": "invitation"} for entry in participants]
    return LoanRecord(loan=loan, invitations=invitations)


@pytest.mark.parametrize("statuses", [mix for n in (1, 2, 3) for mix in itertools.product(STATUSES, repeat=n)], ids=str)
def test_close_funding_operations_use_every_placeholder_they_name(statuses: tuple[str, ...]) -> None:
    actor = Actor(user_id="b", email="b@example.com", at="2026-01-01T00:00:00Z", request_id="r")
    for operation in transitions.close_funding(_record(statuses), actor):
        assert unused_placeholders(operation) == set(), operation


def test_closing_when_no_participant_is_still_invited_activates_on_what_is_funded(client: TestClient, people: dict[str, TestUser]) -> None:
    # Given: 600 from Lou (accepted) + 400 from Max (declined): nobody is still invited
    loan = create_loan(client, people["bea"], [(people["lou"], "600"), (people["max"], "400")])
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    assert decline(client, people["max"], loan["loanId"]).status_code == 200
    # When: Bea closes funding
    response = client.post(f"/loans/{loan['loanId']}/close-funding", headers=people["bea"].headers)
    # Then: the loan is active at 600, and Max's participation stays declined
    assert response.status_code == 200, response.text
    closed = exact(response)
    assert (closed["status"], closed["amount"], closed["requestedAmount"]) == ("active", 600, 1000)
    assert [entry["status"] for entry in closed["lenders"]] == ["accepted", "declined"]


@pytest.fixture(scope="module")
def cast(endpoint_url: str, table_name: str) -> Iterator[tuple[TestClient, TestUser, list[TestUser]]]:
    """One app (any funded share may close) and cast for every example: each example makes a fresh loan."""
    app: FastAPI = create_app(make_settings(endpoint_url, table_name, min_partial_funding_percent=1), clock=FakeClock())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, a_user(app, first_name="Bea"), [a_user(app, first_name=f"L{i}") for i in range(3)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3))
def test_close_funding_over_any_mix_of_participant_statuses(cast: Any, statuses: list[str]) -> None:
    client, borrower, lenders = cast
    cast_of = list(zip(lenders, statuses, strict=False))
    loan = create_loan(client, borrower, [(lender, "100") for lender, _ in cast_of])
    for lender, status in cast_of:
        if status == "accepted":
            assert accept(client, lender, loan["loanId"]).status_code == 200
        elif status == "declined":
            assert decline(client, lender, loan["loanId"]).status_code == 200

    response = client.post(f"/loans/{loan['loanId']}/close-funding", headers=borrower.headers)

    funded = 100 * statuses.count("accepted")
    if funded == 0 or funded == 100 * len(statuses):  # nothing funded; or fully funded, so already active
        expected_code = "INSUFFICIENT_FUNDING" if funded == 0 else "LOAN_NOT_PENDING"
        assert (response.status_code, response.json()["error"]["code"]) == (409, expected_code)
        return
    assert response.status_code == 200, response.text
    closed = exact(response)
    assert (closed["status"], closed["amount"], closed["fundedAmount"]) == ("active", funded, funded)
    expected = ["withdrawn" if status == "invited" else status for status in statuses]
    assert [entry["status"] for entry in closed["lenders"]] == expected
    assert exact(client.get(f"/loans/{loan['loanId']}", headers=borrower.headers)) == closed


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_a_lender_whose_invitation_was_withdrawn_gets_loan_not_pending(
    client: TestClient, people: dict[str, TestUser], answer: str
) -> None:
    # Given: Lou accepted 600 of 1000 and Bea closed funding, which withdrew Max's open invitation
    loan = create_loan(client, people["bea"], [(people["lou"], "600"), (people["max"], "400")])
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    assert client.post(f"/loans/{loan['loanId']}/close-funding", headers=people["bea"].headers).status_code == 200
    # When: Max answers anyway
    response = accept(client, people["max"], loan["loanId"]) if answer == "accept" else decline(client, people["max"], loan["loanId"])
    # Then: the loan is no longer pending (Max never answered, so not ALREADY_RESPONDED)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "LOAN_NOT_PENDING")


@pytest.mark.parametrize(
    ("status", "code"), [("withdrawn", "LOAN_NOT_PENDING"), ("accepted", "ALREADY_RESPONDED"), ("declined", "ALREADY_RESPONDED")]
)
def test_a_refused_answer_names_what_the_invitation_became(status: str, code: str) -> None:
    """The race: funding closed (or another answer landed) between the read and the answer's transaction."""
    refused = TransactionCancelled(["ConditionalCheckFailed", "None"], [{"status": status}, None])
    assert repository._refusal(refused, accepting=True).code == code
    assert repository._refusal(refused, accepting=False).code == code


# --- a sound schedule (app/servicing/schedule.py schedule_problem) ---------------------------------------------


def test_creating_a_loan_whose_schedule_is_degenerate_is_422_naming_term_months(client: TestClient, people: dict[str, TestUser]) -> None:
    for amount, rate, months in (("0.01", "0", 360), ("10000000.00", "100.00", 360), ("11.00", "5.25", 12)):
        body = loan_body([(people["lou"], amount)], termMonths=months, interestRate=Decimal(rate))
        response = post_json(client, "/loans", body, people["bea"].headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert [detail["field"] for detail in error["details"]] == ["termMonths"]
    assert client.get("/loans/my-loans", headers=people["bea"].headers).json()["items"] == []  # nothing was created


def test_closing_funding_on_an_amount_too_small_to_schedule_is_409_and_changes_nothing(
    client: TestClient, people: dict[str, TestUser]
) -> None:
    # Given: 400.00 over 360 months at 0% (1.11 a month), half of it accepted: 200.00 would be 0.56 a month
    loan = create_loan(client, people["bea"], [(people["lou"], "200.00"), (people["max"], "200.00")], termMonths=360, interestRate=0)
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    # When: the borrower closes funding
    response = client.post(f"/loans/{loan['loanId']}/close-funding", headers=people["bea"].headers)
    # Then: 409 INSUFFICIENT_FUNDING saying why, and the loan is still pending, max still invited
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "INSUFFICIENT_FUNDING"
    assert "0.56" in response.json()["error"]["message"]
    after = client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers).json()
    assert after["status"] == "pending" and [p["status"] for p in after["lenders"]] == ["accepted", "invited"]
