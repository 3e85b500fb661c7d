"""Who sees what: borrower, an invited lender, another invited lender, a stranger, an anonymous caller."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import a_user
from tests.loans.helpers import accept, ach, cancel, create_loan, decline, error_code, exact

CALLERS = ["borrower", "lender_a", "lender_b", "stranger", "anonymous"]


@pytest.fixture
def world(client: TestClient, app: FastAPI) -> dict[str, Any]:
    people = {
        "borrower": a_user(app, first_name="Secretive", last_name="Borrower"),
        "lender_a": a_user(app),
        "lender_b": a_user(app),
        "stranger": a_user(app),
    }
    loan = create_loan(
        client, people["borrower"], [(people["lender_a"], "600.05"), (people["lender_b"], "400.05")], purpose="Private purpose"
    )
    return {"people": people, "loan": loan}


def headers(world: dict[str, Any], caller: str) -> dict[str, str]:
    return {} if caller == "anonymous" else world["people"][caller].headers


def assert_reveals_nothing(response: Any, world: dict[str, Any]) -> None:
    """A 404 that never says the loan exists: no id, name, purpose, amounts or lender emails."""
    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    loan = world["loan"]
    for secret in (loan["loanId"], "Secretive", "Private purpose", "1000.1", "600.05", *(lender["email"] for lender in loan["lenders"])):
        assert secret not in response.text


@pytest.mark.parametrize("caller", CALLERS)
def test_get_loan(client: TestClient, world: dict[str, Any], caller: str) -> None:
    response = client.get(f"/loans/{world['loan']['loanId']}", headers=headers(world, caller))

    people = world["people"]
    if caller == "anonymous":
        assert response.status_code == 401 and error_code(response) == "UNAUTHENTICATED"
    elif caller == "stranger":
        assert_reveals_nothing(response, world)
    elif caller == "borrower":
        assert response.status_code == 200
        assert [lender["email"] for lender in response.json()["lenders"]] == [people["lender_a"].email, people["lender_b"].email]
    else:
        other = people["lender_b" if caller == "lender_a" else "lender_a"]
        assert response.status_code == 200
        body = response.json()
        assert [lender["email"] for lender in body["lenders"]] == [people[caller].email]
        assert other.email not in response.text
        assert {k: v for k, v in body.items() if k != "lenders"} == {k: v for k, v in world["loan"].items() if k != "lenders"}


def test_an_invited_lender_sees_only_their_own_participation_after_others_answer(client: TestClient, world: dict[str, Any]) -> None:
    people, loan_id = world["people"], world["loan"]["loanId"]
    accept(client, people["lender_a"], loan_id)

    seen_by_b = exact(client.get(f"/loans/{loan_id}", headers=people["lender_b"].headers))

    assert seen_by_b["fundedAmount"] == Decimal("600.05")  # the loan's figures are public to its invitees ...
    assert [lender["email"] for lender in seen_by_b["lenders"]] == [people["lender_b"].email]  # ... participations are not
    assert people["lender_a"].user_id not in str(seen_by_b)


@pytest.mark.parametrize("caller", CALLERS)
def test_events(client: TestClient, world: dict[str, Any], caller: str) -> None:
    response = client.get(f"/loans/{world['loan']['loanId']}/events", headers=headers(world, caller))

    if caller == "anonymous":
        assert response.status_code == 401
    elif caller == "borrower":
        assert response.status_code == 200 and response.json()["items"][0]["type"] == "created"
    else:
        assert_reveals_nothing(response, world)


@pytest.mark.parametrize("caller", CALLERS)
def test_cancel(client: TestClient, world: dict[str, Any], caller: str) -> None:
    loan_id = world["loan"]["loanId"]

    response = client.post(f"/loans/{loan_id}/cancel", headers=headers(world, caller))

    expected = {"anonymous": 401, "stranger": 404, "lender_a": 403, "lender_b": 403, "borrower": 200}[caller]
    assert response.status_code == expected
    if caller == "stranger":
        assert_reveals_nothing(response, world)
    status = client.get(f"/loans/{loan_id}", headers=world["people"]["borrower"].headers).json()["status"]
    assert status == ("cancelled" if caller == "borrower" else "pending")


@pytest.mark.parametrize("respond", ["accept", "decline"])
@pytest.mark.parametrize("caller", CALLERS)
def test_accept_and_decline(client: TestClient, world: dict[str, Any], caller: str, respond: str) -> None:
    loan_id = world["loan"]["loanId"]

    response = client.put(f"/lender/{respond}/{loan_id}", json=ach() if respond == "accept" else None, headers=headers(world, caller))

    if caller == "anonymous":
        assert response.status_code == 401
    elif caller in ("borrower", "stranger"):
        assert_reveals_nothing(response, world)
    else:
        assert response.status_code == 200
        assert response.json()["status"] == ("accepted" if respond == "accept" else "declined")


@pytest.mark.parametrize("caller", CALLERS)
def test_lists(client: TestClient, world: dict[str, Any], caller: str) -> None:
    people, loan_id = world["people"], world["loan"]["loanId"]
    accept(client, people["lender_a"], loan_id)

    def ids(path: str) -> list[str] | int:
        response = client.get(path, headers=headers(world, caller))
        return [item["loanId"] for item in response.json()["items"]] if response.status_code == 200 else response.status_code

    mine, pending, lent = ids("/loans/my-loans"), ids("/lender/pending"), ids("/lender/loans")
    expected = {
        "borrower": ([loan_id], [], []),
        "lender_a": ([], [], [loan_id]),
        "lender_b": ([], [loan_id], []),
        "stranger": ([], [], []),
        "anonymous": (401, 401, 401),
    }[caller]
    assert (mine, pending, lent) == expected


def test_lender_loans_show_only_the_callers_participation(client: TestClient, world: dict[str, Any]) -> None:
    people, loan_id = world["people"], world["loan"]["loanId"]
    accept(client, people["lender_a"], loan_id)
    accept(client, people["lender_b"], loan_id)

    for lender in ("lender_a", "lender_b"):
        items = client.get("/lender/loans", headers=people[lender].headers).json()["items"]
        assert [entry["email"] for entry in items[0]["lenders"]] == [people[lender].email]


def test_a_borrower_who_is_also_invited_elsewhere_keeps_both_views(client: TestClient, app: FastAPI, world: dict[str, Any]) -> None:
    people = world["people"]
    other_loan = create_loan(client, people["lender_a"], [(people["borrower"], "50.00"), (people["stranger"], "50.00")])

    view = client.get(f"/loans/{other_loan['loanId']}", headers=people["borrower"].headers).json()

    assert [lender["email"] for lender in view["lenders"]] == [people["borrower"].email]
    assert decline(client, people["borrower"], other_loan["loanId"]).status_code == 200
    assert cancel(client, people["borrower"], other_loan["loanId"]).status_code == 403
