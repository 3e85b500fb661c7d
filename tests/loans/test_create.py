"""POST /loans: the created loan, exact money, request validation and the business rules."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user, unique_email
from tests.loans.helpers import error_code, exact, fields_of, loan_body, post_json

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def borrower(app: FastAPI) -> TestUser:
    return a_user(app, first_name="Bea", last_name="Borrower")


def test_create_returns_the_pending_loan_with_every_invitation(client: TestClient, borrower: TestUser) -> None:
    lender = unique_email("lender")
    body = loan_body([(lender, "600.05"), ("other@example.com", "400.05")], amount="1000.10")

    response = post_json(client, "/loans", body, borrower.headers)

    assert response.status_code == 201, response.text
    loan = exact(response)
    assert loan["borrowerId"] == borrower.user_id
    assert loan["borrowerName"] == "Bea Borrower"
    assert loan["amount"] == Decimal("1000.10")
    assert loan["fundedAmount"] == Decimal("0")
    assert (loan["purpose"], loan["termMonths"], loan["interestRate"]) == ("Bakery oven", 12, Decimal("5.25"))
    assert loan["status"] == "pending"
    assert ISO_Z.match(loan["createdAt"]) and loan["activatedAt"] is None
    unserviced = {"principalRepaid": None, "interestPaid": None, "outstandingPrincipal": None}  # only accepted lenders of active loans
    assert loan["lenders"] == [
        {"email": lender, "amount": Decimal("600.05"), "status": "invited", "lenderId": None, "respondedAt": None, **unserviced},
        {
            "email": "other@example.com",
            "amount": Decimal("400.05"),
            "status": "invited",
            "lenderId": None,
            "respondedAt": None,
            **unserviced,
        },
    ]
    assert (loan["outstandingPrincipal"], loan["nextPayment"], loan["daysPastDue"], loan["repaidAt"]) == (None, None, 0, None)


def test_money_is_written_as_exact_json_numbers(client: TestClient, borrower: TestUser) -> None:
    response = post_json(client, "/loans", loan_body([("a@example.com", "600.05"), ("b@example.com", "400.05")]), borrower.headers)

    assert response.status_code == 201
    assert '"amount":1000.1' in response.text  # a JSON number, never a string nor a float artefact
    assert '"amount":600.05' in response.text and '"amount":400.05' in response.text
    assert sum(lender["amount"] for lender in exact(response)["lenders"]) == exact(response)["amount"]


def test_lender_emails_are_stored_normalised(client: TestClient, borrower: TestUser) -> None:
    loan = exact(post_json(client, "/loans", loan_body([("  Mixed.Case@Example.COM ", "100")]), borrower.headers))

    assert loan["lenders"][0]["email"] == "mixed.case@example.com"


def test_the_largest_loan_is_accepted(client: TestClient, borrower: TestUser) -> None:
    response = post_json(client, "/loans", loan_body([("a@example.com", "10000000")]), borrower.headers)

    assert response.status_code == 201
    assert exact(response)["amount"] == Decimal("10000000")


def test_twenty_lenders_are_accepted(client: TestClient, borrower: TestUser) -> None:
    lenders = [(f"lender{i}@example.com", "5.05") for i in range(20)]

    response = post_json(client, "/loans", loan_body(lenders), borrower.headers)

    assert response.status_code == 201, response.text
    assert exact(response)["amount"] == Decimal("101.00")
    assert len(exact(response)["lenders"]) == 20


def test_anonymous_caller_cannot_create(client: TestClient) -> None:
    response = post_json(client, "/loans", loan_body([("a@example.com", "10")]), {})

    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"


def _valid() -> dict[str, Any]:
    return loan_body([("a@example.com", "60.00"), ("b@example.com", "40.00")])


def _with(**changes: Any) -> dict[str, Any]:
    return {**_valid(), **changes}


def _lender_amount(value: Any) -> dict[str, Any]:
    return _with(amount=Decimal("100.00"), lenders=[{"email": "a@example.com", "amount": value}])


INVALID = {
    "amount with 3 decimals": (_with(amount=Decimal("100.005")), "amount"),
    "negative amount": (_with(amount=Decimal("-100.00")), "amount"),
    "zero amount": (_with(amount=0), "amount"),
    "amount over 10,000,000": (_with(amount=Decimal("10000000.01")), "amount"),
    "amount as a string": (_with(amount="100.00"), "amount"),
    "amount as a boolean": (_with(amount=True), "amount"),
    "amount NaN": (_with(amount=Decimal("NaN")), "amount"),
    "amount Infinity": (_with(amount=Decimal("Infinity")), "amount"),
    "contribution with 3 decimals": (_lender_amount(Decimal("99.999")), "lenders.0.amount"),
    "zero contribution": (_lender_amount(0), "lenders.0.amount"),
    "termMonths 0": (_with(termMonths=0), "termMonths"),
    "termMonths 361": (_with(termMonths=361), "termMonths"),
    "termMonths fractional": (_with(termMonths=Decimal("12.5")), "termMonths"),
    "termMonths as a string": (_with(termMonths="12"), "termMonths"),
    "interestRate negative": (_with(interestRate=Decimal("-0.01")), "interestRate"),
    "interestRate over 100": (_with(interestRate=Decimal("100.01")), "interestRate"),
    "interestRate 3 decimals": (_with(interestRate=Decimal("5.125")), "interestRate"),
    "interestRate as a string": (_with(interestRate="5"), "interestRate"),
    "no lenders": (_with(lenders=[]), "lenders"),
    "21 lenders": (_with(amount=Decimal("21"), lenders=[{"email": f"l{i}@example.com", "amount": 1} for i in range(21)]), "lenders"),
    "empty purpose": (_with(purpose=""), "purpose"),
    "blank purpose": (_with(purpose="   "), "purpose"),
    "purpose of 501 chars": (_with(purpose="x" * 501), "purpose"),
    "invalid lender email": (_with(lenders=[{"email": "not-an-email", "amount": Decimal("100.00")}]), "lenders.0.email"),
    "unknown field": (_with(color="red"), "color"),
    "missing purpose": ({k: v for k, v in _valid().items() if k != "purpose"}, "purpose"),
}


@pytest.mark.parametrize("body, field", INVALID.values(), ids=INVALID.keys())
def test_invalid_request_is_422_with_the_field(client: TestClient, borrower: TestUser, body: dict[str, Any], field: str) -> None:
    response = post_json(client, "/loans", body, borrower.headers)

    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert field in fields_of(response)
    assert all(detail["location"] == "body" and detail["reason"] for detail in response.json()["error"]["details"])


def test_boundaries_are_accepted(client: TestClient, borrower: TestUser) -> None:
    # the smallest contribution (0.01), the longest purpose, and the smallest sound schedule: 1.00 in one installment
    body = _with(
        amount=Decimal("1.00"),
        termMonths=1,
        interestRate=0,
        purpose="x" * 500,
        lenders=[{"email": "a@example.com", "amount": Decimal("0.01")}, {"email": "b@example.com", "amount": Decimal("0.99")}],
    )
    assert post_json(client, "/loans", body, borrower.headers).status_code == 201
    # the longest term at an installment of exactly 1.00, and the highest rate
    body = _with(
        amount=Decimal("360.00"), termMonths=360, interestRate=0, lenders=[{"email": "a@example.com", "amount": Decimal("360.00")}]
    )
    assert post_json(client, "/loans", body, borrower.headers).status_code == 201
    body = _with(termMonths=1, interestRate=100)
    assert post_json(client, "/loans", body, borrower.headers).status_code == 201
    # 0.99 a month is refused, naming termMonths
    body = _with(
        amount=Decimal("356.40"), termMonths=360, interestRate=0, lenders=[{"email": "a@example.com", "amount": Decimal("356.40")}]
    )
    response = post_json(client, "/loans", body, borrower.headers)
    assert (response.status_code, fields_of(response)) == (422, ["termMonths"]), response.text


def test_malformed_json_is_400(client: TestClient, borrower: TestUser) -> None:
    response = client.post("/loans", content=b'{"amount": ', headers={**borrower.headers, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"


def test_contributions_must_sum_exactly_to_the_amount(client: TestClient, borrower: TestUser) -> None:
    body = loan_body([("a@example.com", "600.05"), ("b@example.com", "400.04")], amount="1000.10")

    response = post_json(client, "/loans", body, borrower.headers)

    assert response.status_code == 422
    assert error_code(response) == "CONTRIBUTIONS_MISMATCH"
    assert fields_of(response) == ["lenders"]


def test_a_lender_may_not_be_invited_twice_whatever_the_case(client: TestClient, borrower: TestUser) -> None:
    body = loan_body([("dup@example.com", "50"), ("DUP@Example.com", "50")])

    response = post_json(client, "/loans", body, borrower.headers)

    assert response.status_code == 422
    assert error_code(response) == "DUPLICATE_LENDER"


def test_the_borrower_may_not_invite_themself(client: TestClient, borrower: TestUser) -> None:
    body = loan_body([("a@example.com", "50"), (borrower.email.upper(), "50")])

    response = post_json(client, "/loans", body, borrower.headers)

    assert response.status_code == 422
    assert error_code(response) == "SELF_INVITE"


def test_a_refused_loan_writes_nothing(client: TestClient, borrower: TestUser) -> None:
    post_json(client, "/loans", loan_body([("a@example.com", "50")], amount="60"), borrower.headers)

    mine = client.get("/loans/my-loans", headers=borrower.headers)

    assert mine.json()["items"] == []


def test_invited_user_becomes_visible_as_lender(client: TestClient, app: FastAPI, borrower: TestUser) -> None:
    lender = a_user(app)
    loan = exact(post_json(client, "/loans", loan_body([(lender, "25.50")]), borrower.headers))

    pending = exact(client.get("/lender/pending", headers=lender.headers))

    assert [item["loanId"] for item in pending["items"]] == [loan["loanId"]]


def test_a_whole_number_written_with_a_decimal_point_is_a_valid_term(client: TestClient, borrower: TestUser) -> None:
    # JSON Schema calls 12.0 an integer, and the published schema says termMonths is one
    response = post_json(client, "/loans", loan_body([("a@example.com", "100.00")], termMonths=Decimal("12.0")), borrower.headers)
    assert response.status_code == 201, response.text
    assert response.json()["termMonths"] == 12
