"""Real threads against one app on DynamoDB Local: no interleaving of requests can break the books."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import ach, create_loan, error_code, exact, loan_body, post_json

pytestmark = pytest.mark.dynamodb_local


def race(app: FastAPI, calls: list[Callable[[TestClient], Any]]) -> list[Any]:
    """Run every call in its own thread with its own client, all released at the same moment."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[TestClient], Any]) -> Any:
        client = TestClient(app, raise_server_exceptions=False)
        barrier.wait()
        return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def accept_call(lender: TestUser, loan_id: str) -> Callable[[TestClient], Any]:
    return lambda client: client.put(f"/lender/accept/{loan_id}", json=ach(), headers=lender.headers)


def cancel_call(borrower: TestUser, loan_id: str) -> Callable[[TestClient], Any]:
    return lambda client: client.post(f"/loans/{loan_id}/cancel", headers=borrower.headers)


def test_twenty_lenders_accepting_twice_at_once_fund_the_loan_exactly_once(client: TestClient, app: FastAPI) -> None:
    # Given: a loan of 1000.20 shared by 20 lenders, 50.01 each (cents everywhere, to catch rounding)
    borrower = a_user(app)
    lenders = [a_user(app) for _ in range(20)]
    loan = create_loan(client, borrower, [(lender, "50.01") for lender in lenders])
    loan_id, amount = loan["loanId"], Decimal(str(loan["amount"]))
    # When: every lender sends accept twice, all 40 requests at the same moment
    responses = race(app, [accept_call(lender, loan_id) for lender in lenders for _ in range(2)])
    # Then: one success and one ALREADY_RESPONDED per lender
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 20, 409: 20}, [response.text for response in responses if response.status_code not in (200, 409)]
    assert {error_code(response) for response in responses if response.status_code == 409} == {"ALREADY_RESPONDED"}
    successes = [exact(response) for response in responses if response.status_code == 200]
    assert sorted(body["amount"] for body in successes) == [Decimal("50.01")] * 20
    # ... each reports a funding the loan really had after its own acceptance (never a stale one) ...
    reported = sorted(body["fundedAmount"] for body in successes)
    assert all(value >= Decimal("50.01") * rank for rank, value in enumerate(reported, start=1)), reported
    assert [body["loanStatus"] for body in successes].count("active") >= 1
    # ... and the loan is active, funded to the cent, activated exactly once
    view = exact(client.get(f"/loans/{loan_id}", headers=borrower.headers))
    assert view["status"] == "active" and view["activatedAt"] is not None
    assert view["fundedAmount"] == amount == Decimal("1000.20")
    assert all(lender["status"] == "accepted" for lender in view["lenders"])
    events = Counter(event["type"] for event in client.get(f"/loans/{loan_id}/events?limit=100", headers=borrower.headers).json()["items"])
    assert events == {"created": 1, "accepted": 20, "activated": 1}


def test_cancel_racing_the_final_accept_never_both_win(client: TestClient, app: FastAPI) -> None:
    borrower, first, last = a_user(app), a_user(app), a_user(app)
    outcomes: Counter[str] = Counter()
    for _ in range(20):
        # Given: a loan one acceptance away from being fully funded
        loan_id = create_loan(client, borrower, [(first, "600.05"), (last, "400.05")])["loanId"]
        assert client.put(f"/lender/accept/{loan_id}", json=ach(), headers=first.headers).status_code == 200
        # When: the borrower cancels while the last lender accepts
        cancelled, accepted = race(
            app,
            [cancel_call(borrower, loan_id), accept_call(last, loan_id)],
        )
        # Then: exactly one of them wins, the other gets LOAN_NOT_PENDING
        assert sorted([cancelled.status_code, accepted.status_code]) == [200, 409], (cancelled.text, accepted.text)
        loser = accepted if cancelled.status_code == 200 else cancelled
        assert error_code(loser) == "LOAN_NOT_PENDING"
        view = exact(client.get(f"/loans/{loan_id}", headers=borrower.headers))
        accepted_total = sum((lender["amount"] for lender in view["lenders"] if lender["status"] == "accepted"), Decimal(0))
        assert view["fundedAmount"] == accepted_total
        if cancelled.status_code == 200:
            outcomes["cancelled"] += 1
            assert view["status"] == "cancelled" and view["activatedAt"] is None
            assert view["fundedAmount"] == Decimal("600.05")
            assert [lender["status"] for lender in view["lenders"]] == ["accepted", "invited"]
        else:
            outcomes["activated"] += 1
            assert view["status"] == "active" and view["fundedAmount"] == view["amount"]
        types = Counter(
            event["type"] for event in client.get(f"/loans/{loan_id}/events?limit=100", headers=borrower.headers).json()["items"]
        )
        assert types["cancelled"] + types["activated"] == 1
    assert sum(outcomes.values()) == 20


def test_decline_and_cancel_racing_leave_one_consistent_story(client: TestClient, app: FastAPI) -> None:
    borrower, lender = a_user(app), a_user(app)
    loan_id = create_loan(client, borrower, [(lender, "10.00"), ("other@example.com", "5.00")])["loanId"]

    declined, cancelled = race(
        app,
        [
            lambda c: c.put(f"/lender/decline/{loan_id}", headers=lender.headers),
            lambda c: c.post(f"/loans/{loan_id}/cancel", headers=borrower.headers),
        ],
    )

    assert cancelled.status_code == 200
    assert declined.status_code in (200, 409)
    view = client.get(f"/loans/{loan_id}", headers=borrower.headers).json()
    assert view["status"] == "cancelled"
    assert view["lenders"][0]["status"] == ("declined" if declined.status_code == 200 else "invited")


def test_two_posts_with_one_idempotency_key_create_one_loan(client: TestClient, app: FastAPI) -> None:
    borrower = a_user(app)
    body = loan_body([("lou@example.com", "600.05"), ("max@example.com", "400.05")])
    headers = {**borrower.headers, "Idempotency-Key": "double-click"}

    responses = race(app, [lambda c: post_json(c, "/loans", body, headers) for _ in range(2)])

    statuses = sorted(response.status_code for response in responses)
    assert statuses in ([201, 201], [201, 409]), [response.text for response in responses]
    if statuses == [201, 409]:
        assert error_code(next(r for r in responses if r.status_code == 409)) == "IDEMPOTENCY_IN_PROGRESS"
    else:
        assert responses[0].json() == responses[1].json()
    loans = client.get("/loans/my-loans", headers=borrower.headers).json()["items"]
    assert len(loans) == 1
    assert post_json(client, "/loans", body, headers).json()["loanId"] == loans[0]["loanId"]


def test_cancel_racing_a_partial_accept_reports_the_funds_it_cancelled(client: TestClient, app: FastAPI) -> None:
    borrower, lender = a_user(app), a_user(app)
    for _ in range(10):
        # Given: a loan of three lenders, none accepted yet
        loan_id = create_loan(client, borrower, [(lender, "10.01"), ("x@example.com", "20.02"), ("y@example.com", "30.03")])["loanId"]
        # When: the borrower cancels while one lender accepts
        cancelled, accepted = race(
            app,
            [cancel_call(borrower, loan_id), accept_call(lender, loan_id)],
        )
        # Then: the cancel always wins; the acceptance either came first (and is in the books) or is refused
        assert cancelled.status_code == 200 and accepted.status_code in (200, 409)
        view = exact(client.get(f"/loans/{loan_id}", headers=borrower.headers))
        expected = Decimal("10.01") if accepted.status_code == 200 else Decimal("0")
        assert view["fundedAmount"] == expected
        assert exact(cancelled)["fundedAmount"] == expected
        assert exact(cancelled)["lenders"] == view["lenders"]
        events = client.get(f"/loans/{loan_id}/events?limit=100", headers=borrower.headers)
        cancel_event = next(event for event in exact(events)["items"] if event["type"] == "cancelled")
        assert cancel_event["amount"] == expected
