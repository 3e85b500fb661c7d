"""POST /loans/{loanId}/cancel: borrower only, pending only, and the invitations stop being pending."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import accept, cancel, error_code, exact


def test_borrower_cancels_a_pending_loan(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    response = cancel(client, people["bea"], loan["loanId"])

    assert response.status_code == 200
    body = exact(response)
    assert body["status"] == "cancelled" and body["activatedAt"] is None
    assert body["loanId"] == loan["loanId"] and len(body["lenders"]) == 2
    assert exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))["status"] == "cancelled"


def test_cancel_keeps_the_funding_already_accepted(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    accept(client, people["lou"], loan["loanId"])

    body = exact(cancel(client, people["bea"], loan["loanId"]))

    assert body["status"] == "cancelled"
    assert body["fundedAmount"] == Decimal("600.05")
    assert [lender["status"] for lender in body["lenders"]] == ["accepted", "invited"]


def test_cancelled_invitations_are_no_longer_pending(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    cancel(client, people["bea"], loan["loanId"])

    pending = client.get("/lender/pending", headers=people["max"].headers).json()

    assert pending == {"items": [], "nextCursor": None}


def test_cancelling_twice_is_loan_not_pending(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    cancel(client, people["bea"], loan["loanId"])

    again = cancel(client, people["bea"], loan["loanId"])

    assert again.status_code == 409
    assert error_code(again) == "LOAN_NOT_PENDING"


def test_an_active_loan_cannot_be_cancelled(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    accept(client, people["lou"], loan["loanId"])
    accept(client, people["max"], loan["loanId"])

    response = cancel(client, people["bea"], loan["loanId"])

    assert response.status_code == 409
    assert error_code(response) == "LOAN_NOT_PENDING"
    assert exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))["status"] == "active"


def test_an_invited_lender_may_not_cancel(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    response = cancel(client, people["lou"], loan["loanId"])

    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"
    assert exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))["status"] == "pending"


def test_a_stranger_gets_404(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    response = cancel(client, people["stranger"], loan["loanId"])

    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    assert loan["loanId"] not in response.text


def test_unknown_loan_and_anonymous_caller(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    assert cancel(client, people["bea"], "0190f3a1-0000-7000-8000-000000000000").status_code == 404
    assert client.post(f"/loans/{loan['loanId']}/cancel").status_code == 401
