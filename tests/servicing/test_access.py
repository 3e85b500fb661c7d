"""Who reaches a loan's servicing routes, and in which loan states.

The borrower and the lenders who accepted see the schedule, the payoff and the repayments; anyone else gets
404 NOT_FOUND (never a hint that the loan exists). Only the borrower records a repayment (an accepted lender 403).
A loan that is not active answers 409 LOAN_NOT_ACTIVE; a repaid one is still readable but takes no repayment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import accept, cancel, create_loan, decline, error_code, exact, post_json

READS = ("schedule", "payoff", "repayments")
ROUTES = (*READS, "record")
LENDERS = ("lou", "max", "ned")


def call(client: TestClient, user: TestUser, loan_id: str, route: str, amount: Decimal = Decimal("10.00")) -> Any:
    """One of the four servicing routes as `user`; "record" is POST /loans/{id}/repayments."""
    if route == "record":
        return post_json(client, f"/loans/{loan_id}/repayments", {"amount": amount}, user.headers)
    return client.get(f"/loans/{loan_id}/{route}", headers=user.headers)


def pending_loan(client: TestClient, people: dict[str, TestUser]) -> str:
    """A loan of Bea's, still pending: Lou accepted, Max declined, Ned is still invited."""
    loan = create_loan(client, people["bea"], [(people["lou"], "600"), (people["max"], "250"), (people["ned"], "150")])
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    assert decline(client, people["max"], loan["loanId"]).status_code == 200
    return str(loan["loanId"])


def test_the_borrower_reads_every_route_and_records_a_repayment(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    for route in READS:
        response = call(client, bea, loan_id, route)
        assert response.status_code == 200, (route, response.text)
    assert call(client, bea, loan_id, "schedule").json()["loanId"] == loan_id
    assert call(client, bea, loan_id, "payoff").json()["loanId"] == loan_id

    recorded = call(client, bea, loan_id, "record")

    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["loanId"], recorded.json()["recordedBy"]) == (loan_id, bea.user_id)


@pytest.mark.parametrize("lender", LENDERS)
def test_an_accepted_lender_reads_what_the_borrower_reads(
    client: TestClient, people: dict[str, TestUser], loan_id: str, lender: str
) -> None:
    for route in ("schedule", "payoff"):
        response = call(client, people[lender], loan_id, route)
        assert response.status_code == 200, (route, response.text)
        assert exact(response) == exact(call(client, people["bea"], loan_id, route))
    listed = call(client, people[lender], loan_id, "repayments")
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "nextCursor": None}


@pytest.mark.parametrize("lender", LENDERS)
def test_accepted_lender_cannot_record_a_repayment(client: TestClient, people: dict[str, TestUser], loan_id: str, lender: str) -> None:
    response = call(client, people[lender], loan_id, "record")

    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"
    assert call(client, people["bea"], loan_id, "repayments").json()["items"] == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_stranger_gets_404_on_every_route(client: TestClient, people: dict[str, TestUser], loan_id: str, route: str) -> None:
    response = call(client, people["stranger"], loan_id, route)

    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"


def test_declined_and_still_invited_lenders_get_404_and_the_borrower_409_on_a_pending_loan(
    client: TestClient, people: dict[str, TestUser]
) -> None:
    # A loan only activates when fully funded, and a declined share is never funded: a decliner is only ever
    # on a pending (or cancelled) loan. So the decliner is tested on a pending loan, where the borrower gets 409.
    loan_id = pending_loan(client, people)

    for route in ROUTES:
        for outsider in ("max", "ned"):  # declined; invited, not yet accepted
            response = call(client, people[outsider], loan_id, route)
            assert response.status_code == 404, (outsider, route, response.text)
            assert error_code(response) == "NOT_FOUND"
        mine = call(client, people["bea"], loan_id, route)
        assert mine.status_code == 409, (route, mine.text)
        assert error_code(mine) == "LOAN_NOT_ACTIVE"
    for route in READS:  # Lou accepted: the loan is visible to her, but not active yet
        assert error_code(call(client, people["lou"], loan_id, route)) == "LOAN_NOT_ACTIVE"


def test_a_cancelled_loan_is_409_loan_not_active_on_every_route(client: TestClient, people: dict[str, TestUser]) -> None:
    loan_id = pending_loan(client, people)
    assert cancel(client, people["bea"], loan_id).status_code == 200

    for route in ROUTES:
        response = call(client, people["bea"], loan_id, route)
        assert response.status_code == 409, (route, response.text)
        assert error_code(response) == "LOAN_NOT_ACTIVE"


def test_a_repaid_loan_takes_no_repayment_but_stays_readable(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    payoff = exact(call(client, bea, loan_id, "payoff"))["amount"]
    repaid = call(client, bea, loan_id, "record", amount=payoff)
    assert repaid.status_code == 201, repaid.text
    assert (exact(repaid)["loanStatus"], exact(repaid)["outstandingPrincipalAfter"]) == ("repaid", Decimal("0"))

    again = call(client, bea, loan_id, "record", amount=Decimal("0.01"))

    assert again.status_code == 409
    assert error_code(again) == "LOAN_NOT_ACTIVE"
    for who in ("bea", *LENDERS):
        for route in READS:
            assert call(client, people[who], loan_id, route).status_code == 200, (who, route)
    after = exact(call(client, bea, loan_id, "payoff"))
    assert (after["principal"], after["interest"], after["amount"]) == (Decimal("0"), Decimal("0"), Decimal("0"))
    assert len(call(client, bea, loan_id, "repayments").json()["items"]) == 1


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bad_id", ["not-a-loan-id", "upper-case", "0b7e4c1a-6f7d-4d0e-9a53-2f1c8e9b7d41", "a" * 64, "LOAN%23x"])
def test_a_malformed_or_unknown_loan_id_is_404(
    client: TestClient, people: dict[str, TestUser], loan_id: str, route: str, bad_id: str
) -> None:
    target = loan_id.upper() if bad_id == "upper-case" else bad_id

    response = call(client, people["bea"], target, route)

    assert response.status_code == 404, response.text
    assert error_code(response) == "NOT_FOUND"


def test_refusals_leak_neither_the_loan_nor_amounts_nor_people(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    pending = pending_loan(client, people)
    refusals = [call(client, people["stranger"], loan_id, route) for route in ROUTES]
    refusals += [call(client, people[who], pending, route) for who in ("max", "ned") for route in ROUTES]
    refusals += [call(client, people[lender], loan_id, "record") for lender in LENDERS]
    secrets = {loan_id, pending, "1000", "600", "250", "150", "1010", "Lovelace"}
    for person in people.values():
        secrets |= {person.email, person.user_id, f"{person.first_name} {person.last_name}"}

    for response in refusals:
        assert response.status_code in (403, 404)
        error = response.json()["error"]
        text = str({**error, "requestId": None})  # the request id is random hex; it names nothing
        assert not [secret for secret in secrets if secret.lower() in text.lower()], text


def test_an_accepted_lender_sees_only_their_own_distribution(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    recorded = call(client, people["bea"], loan_id, "record", amount=Decimal("88.85"))
    assert recorded.status_code == 201, recorded.text
    ids = {people[lender].user_id for lender in LENDERS}
    assert {entry["lenderId"] for entry in recorded.json()["distributions"]} == ids

    borrower_view = exact(call(client, people["bea"], loan_id, "repayments"))["items"]
    assert len(borrower_view) == 1
    assert {entry["lenderId"] for entry in borrower_view[0]["distributions"]} == ids
    by_lender = {entry["lenderId"]: entry for entry in borrower_view[0]["distributions"]}

    for lender in LENDERS:
        me = people[lender]
        items = exact(call(client, me, loan_id, "repayments"))["items"]
        assert len(items) == 1
        assert items[0]["distributions"] == [by_lender[me.user_id]]
        assert {**items[0], "distributions": None} == {**borrower_view[0], "distributions": None}
