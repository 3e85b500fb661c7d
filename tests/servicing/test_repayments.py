"""Repayments through the API on DynamoDB Local: allocation, distribution to the cent, payoff and repaid.

The cast (tests/servicing/conftest.py): 1,000.00 at 12% over 12 months, activated 2026-01-31, funded
600/250/150 by Lou, Max and Ned. Installment 88.85; installment 1 is interest 10.00 + principal 78.85.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import error_code, exact, post_json, renew_token
from tests.support.clock import FakeClock


def repay(client: TestClient, people: dict[str, TestUser], loan_id: str, amount: str, **headers: str) -> Any:
    return post_json(client, f"/loans/{loan_id}/repayments", {"amount": D(amount)}, {**people["bea"].headers, **headers})


def read(client: TestClient, user: TestUser, url: str) -> Any:
    response = client.get(url, headers=user.headers)
    assert response.status_code == 200, response.text
    return exact(response)


def shares(repayment: dict[str, Any], people: dict[str, TestUser]) -> list[tuple[D, D]]:
    by_lender = {entry["lenderId"]: (entry["interest"], entry["principal"]) for entry in repayment["distributions"]}
    return [by_lender[people[name].user_id] for name in ("lou", "max", "ned")]


def move_clock(app: FastAPI, clock: FakeClock, people: dict[str, TestUser], **delta: float) -> None:
    clock.advance(**delta)
    for person in people.values():
        renew_token(app, person)


def test_the_schedule_is_fixed_at_activation_with_month_end_due_dates(
    client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    schedule = read(client, people["bea"], f"/loans/{loan_id}/schedule")
    assert (schedule["installmentAmount"], schedule["totalInterest"], schedule["totalPayable"]) == (D("88.85"), D("66.19"), D("1066.19"))
    first, last = schedule["installments"][0], schedule["installments"][-1]
    assert (first["interest"], first["principal"], first["status"]) == (D("10.00"), D("78.85"), "upcoming")
    assert (last["number"], last["amount"], last["balanceAfter"]) == (12, D("88.84"), 0)
    assert [i["dueDate"] for i in schedule["installments"][:4]] == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    assert schedule["installments"][-1]["dueDate"] == "2027-01-31"


def test_paying_one_installment_splits_it_600_250_150_to_the_cent(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    response = repay(client, people, loan_id, "88.85")
    assert response.status_code == 201, response.text
    repayment = exact(response)
    assert (repayment["interest"], repayment["principal"], repayment["outstandingPrincipalAfter"]) == (D("10.00"), D("78.85"), D("921.15"))
    assert shares(repayment, people) == [(D("6.00"), D("47.31")), (D("2.50"), D("19.71")), (D("1.50"), D("11.83"))]
    assert repayment["loanStatus"] == "active"
    assert repayment["recordedBy"] == people["bea"].user_id
    # The loan and each lender's participation carry the new figures
    loan = read(client, people["bea"], f"/loans/{loan_id}")
    assert loan["outstandingPrincipal"] == D("921.15")
    assert loan["nextPayment"] == {"dueDate": "2026-03-31", "amount": D("88.85")}
    lou = next(entry for entry in loan["lenders"] if entry["lenderId"] == people["lou"].user_id)
    assert (lou["principalRepaid"], lou["interestPaid"], lou["outstandingPrincipal"]) == (D("47.31"), D("6.00"), D("552.69"))
    schedule = read(client, people["bea"], f"/loans/{loan_id}/schedule")
    assert [i["status"] for i in schedule["installments"][:2]] == ["paid", "upcoming"]


def test_less_than_an_installment_pays_interest_first_and_leaves_it_partial(
    client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    repayment = exact(repay(client, people, loan_id, "50.00"))
    assert (repayment["interest"], repayment["principal"]) == (D("10.00"), D("40.00"))
    first = read(client, people["bea"], f"/loans/{loan_id}/schedule")["installments"][0]
    assert (first["paidInterest"], first["paidPrincipal"], first["status"]) == (D("10.00"), D("40.00"), "partial")
    loan = read(client, people["bea"], f"/loans/{loan_id}")
    assert loan["nextPayment"] == {"dueDate": "2026-02-28", "amount": D("38.85")}
    assert loan["outstandingPrincipal"] == D("960.00")


def test_a_prepayment_shortens_the_loan_and_lowers_later_interest(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    before = read(client, people["bea"], f"/loans/{loan_id}/schedule")
    repayment = exact(repay(client, people, loan_id, "300.00"))
    # installment 1 (10.00 + 78.85), then 211.15 of principal prepaid
    assert (repayment["interest"], repayment["principal"], repayment["outstandingPrincipalAfter"]) == (D("10.00"), D("290.00"), D("710.00"))
    after = read(client, people["bea"], f"/loans/{loan_id}/schedule")
    assert after["installmentAmount"] == D("88.85")
    assert len(after["installments"]) < len(before["installments"])
    assert after["installments"][1]["interest"] == D("7.10") < before["installments"][1]["interest"]
    assert after["totalInterest"] < before["totalInterest"]
    assert sum(i["principal"] for i in after["installments"][1:]) == D("710.00")
    assert after["installments"][-1]["balanceAfter"] == 0


def test_a_late_installment_shows_and_is_paid_with_the_next_one(
    app: FastAPI, clock: FakeClock, client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: no payment by the day after the first due date (2026-02-28): late, without any job having run
    move_clock(app, clock, people, days=29)
    loan = read(client, people["bea"], f"/loans/{loan_id}")
    assert loan["daysPastDue"] == 1
    assert read(client, people["bea"], f"/loans/{loan_id}/schedule")["installments"][0]["status"] == "late"
    # When: a month later both installments are paid at once
    move_clock(app, clock, people, days=31)
    assert read(client, people["bea"], f"/loans/{loan_id}")["daysPastDue"] == 32
    repayment = exact(repay(client, people, loan_id, "177.70"))
    # Then: both are paid, interest first in each, oldest first
    assert (repayment["interest"], repayment["principal"]) == (D("19.21"), D("158.49"))
    statuses = [i["status"] for i in read(client, people["bea"], f"/loans/{loan_id}/schedule")["installments"][:3]]
    assert statuses == ["paid", "paid", "upcoming"]
    assert read(client, people["bea"], f"/loans/{loan_id}")["daysPastDue"] == 0


def test_paying_the_payoff_amount_repays_the_loan_exactly_once(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    exact(repay(client, people, loan_id, "88.85"))
    payoff = read(client, people["bea"], f"/loans/{loan_id}/payoff")
    assert (payoff["principal"], payoff["interest"], payoff["asOf"]) == (D("921.15"), D("9.21"), "2026-01-31")
    assert payoff["amount"] == payoff["principal"] + payoff["interest"]
    final = exact(repay(client, people, loan_id, str(payoff["amount"])))
    assert (final["loanStatus"], final["outstandingPrincipalAfter"]) == ("repaid", 0)
    loan = read(client, people["bea"], f"/loans/{loan_id}")
    assert loan["status"] == "repaid" and loan["repaidAt"] == "2026-01-31T15:00:00Z" and loan["nextPayment"] is None
    # Every lender got back exactly their contribution of principal
    assert {entry["email"]: entry["principalRepaid"] for entry in loan["lenders"]} == {
        entry["email"]: entry["amount"] for entry in loan["lenders"]
    }
    assert all(entry["outstandingPrincipal"] == 0 for entry in loan["lenders"])
    events = [event["type"] for event in read(client, people["bea"], f"/loans/{loan_id}/events")["items"]]
    assert events.count("repaid") == 1 and events.count("repayment_recorded") == 2
    again = repay(client, people, loan_id, "1.00")
    assert (again.status_code, error_code(again)) == (409, "LOAN_NOT_ACTIVE")
    assert read(client, people["bea"], f"/loans/{loan_id}/payoff")["amount"] == 0


def test_one_cent_over_the_payoff_is_refused_and_writes_nothing(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    payoff = read(client, people["bea"], f"/loans/{loan_id}/payoff")["amount"]
    response = repay(client, people, loan_id, str(payoff + D("0.01")))
    assert (response.status_code, error_code(response)) == (422, "OVERPAYMENT")
    assert exact(response)["error"]["details"][0]["payoffAmount"] == payoff
    assert read(client, people["bea"], f"/loans/{loan_id}/repayments")["items"] == []
    assert read(client, people["bea"], f"/loans/{loan_id}")["outstandingPrincipal"] == D("1000")


def test_the_lender_view_shows_their_own_figures(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    exact(repay(client, people, loan_id, "88.85"))
    mine = read(client, people["max"], "/lender/loans")["items"]
    assert [loan["loanId"] for loan in mine] == [loan_id]
    (entry,) = mine[0]["lenders"]
    assert (entry["principalRepaid"], entry["interestPaid"], entry["outstandingPrincipal"]) == (D("19.71"), D("2.50"), D("230.29"))
    listed = read(client, people["bea"], "/loans/my-loans")["items"][0]
    assert listed["outstandingPrincipal"] == D("921.15")
    assert [entry["principalRepaid"] for entry in listed["lenders"]] == [D("47.31"), D("19.71"), D("11.83")]


def test_a_loan_activated_before_servicing_existed_reads_with_defaults_and_can_be_repaid(
    client: TestClient, people: dict[str, TestUser], loan_id: str, db: Any
) -> None:
    # Given: the loan as an activation writes it, which is what the previous release left in the table
    # (no outstandingPrincipal, nextDue*, lender totals, no schedule item): defaults are read-time only
    from app.db.keys import loan_key, schedule_key

    item = db.get(loan_key(loan_id, people["bea"].user_id))
    assert not {"outstandingPrincipal", "nextDueDate", "nextDueAmount", "repaidAt"} & set(item)
    assert not any("principalRepaid" in entry for entry in item["participants"])
    assert db.get(schedule_key(loan_id)) is None
    # Then: it shows its whole amount outstanding, its first installment next, and nothing repaid
    loan = read(client, people["bea"], f"/loans/{loan_id}")
    assert (loan["outstandingPrincipal"], loan["nextPayment"], loan["daysPastDue"]) == (
        D("1000"),
        {"dueDate": "2026-02-28", "amount": D("88.85")},
        0,
    )
    lou = loan["lenders"][0]
    assert (lou["principalRepaid"], lou["interestPaid"], lou["outstandingPrincipal"]) == (0, 0, D("600"))
    # And: its first repayment writes the figures from there
    assert repay(client, people, loan_id, "88.85").status_code == 201
    assert "outstandingPrincipal" in db.get(loan_key(loan_id, people["bea"].user_id))
