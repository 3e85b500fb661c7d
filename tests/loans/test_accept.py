"""PUT /lender/accept and /lender/decline: the participation, the funding, activation, and their errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import ACCOUNT, ROUTING, accept, ach, cancel, decline, error_code, exact, fields_of


def test_accept_returns_the_acceptance_with_last4_only(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    response = accept(client, people["lou"], loan["loanId"])

    assert response.status_code == 200, response.text
    assert exact(response) == {
        "loanId": loan["loanId"],
        "status": "accepted",
        "amount": Decimal("600.05"),
        "fundedAmount": Decimal("600.05"),
        "loanStatus": "pending",
        "bankAccountId": response.json()["bankAccountId"],
        "achDetails": {
            "accountHolderName": "Grace Hopper",
            "accountType": "checking",
            "routingNumberLast4": ROUTING[-4:],
            "accountNumberLast4": ACCOUNT[-4:],
        },
    }
    assert ROUTING not in response.text and ACCOUNT not in response.text


def test_final_accept_activates_the_loan_exactly_to_the_cent(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    # Given: Lou has accepted 600.05 of 1000.10
    accept(client, people["lou"], loan["loanId"])
    # When: Max accepts the remaining 400.05
    response = accept(client, people["max"], loan["loanId"], accountType="savings")
    # Then: the loan is fully funded and active
    assert response.status_code == 200
    body = exact(response)
    assert (body["fundedAmount"], body["loanStatus"], body["amount"]) == (Decimal("1000.10"), "active", Decimal("400.05"))
    assert body["achDetails"]["accountType"] == "savings"
    view = exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))
    assert view["status"] == "active" and view["fundedAmount"] == view["amount"] == Decimal("1000.10")
    assert view["activatedAt"] is not None
    assert [lender["status"] for lender in view["lenders"]] == ["accepted", "accepted"]


def test_accept_gives_the_lender_role(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    accept(client, people["lou"], loan["loanId"])

    profile = client.get("/user/profile", headers=people["lou"].headers).json()

    assert "lender" in profile["roles"]


def test_accepting_twice_is_already_responded(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    accept(client, people["lou"], loan["loanId"])

    again = accept(client, people["lou"], loan["loanId"])

    assert again.status_code == 409
    assert error_code(again) == "ALREADY_RESPONDED"
    assert exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))["fundedAmount"] == Decimal("600.05")


def test_declining_after_accepting_is_already_responded(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    accept(client, people["lou"], loan["loanId"])

    response = decline(client, people["lou"], loan["loanId"])

    assert response.status_code == 409
    assert error_code(response) == "ALREADY_RESPONDED"


def test_decline_records_the_refusal(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    response = decline(client, people["max"], loan["loanId"])

    assert response.status_code == 200
    assert response.json() == {"loanId": loan["loanId"], "status": "declined"}
    view = exact(client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers))
    assert view["lenders"][1]["status"] == "declined" and view["lenders"][1]["lenderId"] == people["max"].user_id
    assert view["fundedAmount"] == Decimal("0") and view["status"] == "pending"


@pytest.mark.parametrize("respond", [accept, decline])
def test_responding_after_declining_is_already_responded(
    client: TestClient, people: dict[str, TestUser], loan: dict[str, Any], respond: Any
) -> None:
    decline(client, people["max"], loan["loanId"])

    response = respond(client, people["max"], loan["loanId"])

    assert response.status_code == 409
    assert error_code(response) == "ALREADY_RESPONDED"


@pytest.mark.parametrize("respond", [accept, decline])
def test_responding_on_a_cancelled_loan_is_loan_not_pending(
    client: TestClient, people: dict[str, TestUser], loan: dict[str, Any], respond: Any
) -> None:
    cancel(client, people["bea"], loan["loanId"])

    response = respond(client, people["lou"], loan["loanId"])

    assert response.status_code == 409
    assert error_code(response) == "LOAN_NOT_PENDING"


@pytest.mark.parametrize("respond", [accept, decline])
@pytest.mark.parametrize("who", ["stranger", "bea"])
def test_responding_without_an_invitation_is_404(
    client: TestClient, people: dict[str, TestUser], loan: dict[str, Any], respond: Any, who: str
) -> None:
    response = respond(client, people[who], loan["loanId"])

    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    assert loan["loanId"] not in response.text and "600.05" not in response.text


@pytest.mark.parametrize("respond", [accept, decline])
@pytest.mark.parametrize("loan_id", ["0190f3a1-0000-7000-8000-000000000000", "nope"])
def test_responding_to_an_unknown_loan_is_404(client: TestClient, people: dict[str, TestUser], respond: Any, loan_id: str) -> None:
    assert respond(client, people["lou"], loan_id).status_code == 404


def test_responding_anonymously_is_401(client: TestClient, loan: dict[str, Any]) -> None:
    assert client.put(f"/lender/accept/{loan['loanId']}", json=ach()).status_code == 401
    assert client.put(f"/lender/decline/{loan['loanId']}").status_code == 401


BAD_ACH = {
    "bad ABA checksum": ({"routingNumber": "021000022"}, "achDetails.routingNumber"),
    "8-digit routing": ({"routingNumber": "02100002"}, "achDetails.routingNumber"),
    "10-digit routing": ({"routingNumber": "0210000210"}, "achDetails.routingNumber"),
    "routing with letters": ({"routingNumber": "02100002a"}, "achDetails.routingNumber"),
    "3-digit account": ({"accountNumber": "123"}, "achDetails.accountNumber"),
    "18-digit account": ({"accountNumber": "1" * 18}, "achDetails.accountNumber"),
    "account with a dash": ({"accountNumber": "1234-5678"}, "achDetails.accountNumber"),
    "account as a number": ({"accountNumber": 12345678}, "achDetails.accountNumber"),
    "unknown accountType": ({"accountType": "brokerage"}, "achDetails.accountType"),
    "empty holder name": ({"accountHolderName": ""}, "achDetails.accountHolderName"),
    "holder name of 101 chars": ({"accountHolderName": "x" * 101}, "achDetails.accountHolderName"),
}


@pytest.mark.parametrize("override, field", BAD_ACH.values(), ids=BAD_ACH.keys())
def test_invalid_ach_details_are_422_and_change_nothing(
    client: TestClient, people: dict[str, TestUser], loan: dict[str, Any], override: dict[str, Any], field: str
) -> None:
    response = client.put(f"/lender/accept/{loan['loanId']}", json=ach(**override), headers=people["lou"].headers)

    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert field in fields_of(response)
    view = client.get(f"/loans/{loan['loanId']}", headers=people["lou"].headers).json()
    assert view["lenders"][0]["status"] == "invited"


def test_ach_boundaries_are_accepted(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    lou = accept(client, people["lou"], loan["loanId"], accountNumber="1234", accountHolderName="x" * 100)
    max_ = accept(client, people["max"], loan["loanId"], accountNumber="1" * 17, routingNumber="011000015")

    assert (lou.status_code, max_.status_code) == (200, 200)
    assert lou.json()["achDetails"]["accountNumberLast4"] == "1234"


def test_accept_without_ach_details_is_422(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    response = client.put(f"/lender/accept/{loan['loanId']}", json={}, headers=people["lou"].headers)

    assert response.status_code == 422
    assert "exactly one of achDetails and bankAccountId" in response.json()["error"]["details"][0]["reason"]
