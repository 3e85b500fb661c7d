"""GET /loans/{loanId}/events: every state change leaves its event (who, what, when, amount, request id)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, ach, cancel, decline, exact, loan_body, post_json


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max", "sam")}


def trail(client: TestClient, borrower: TestUser, loan_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/loans/{loan_id}/events", headers=borrower.headers)
    assert response.status_code == 200, response.text
    body = exact(response)
    assert body["nextCursor"] is None
    return body["items"]  # type: ignore[no-any-return]


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, Decimal | None, str | None, str]]:
    return [(e["type"], e["actorId"], e["amount"], e["lenderEmail"], e["requestId"]) for e in events]


def test_the_life_of_a_funded_loan_is_recorded_in_order(client: TestClient, people: dict[str, TestUser]) -> None:
    bea, lou, max_, sam = people["bea"], people["lou"], people["max"], people["sam"]
    # Given: a loan of 1000.10 for Lou (600.05) and Max (400.05), Sam invited for nothing... declines
    body = loan_body([(lou, "600.05"), (max_, "400.05")])
    created = post_json(client, "/loans", body, {**bea.headers, "X-Request-ID": "req-create"}).json()
    loan_id = created["loanId"]
    # When: Lou accepts, then Max accepts (activating the loan)
    client.put(f"/lender/accept/{loan_id}", json=ach(), headers={**lou.headers, "X-Request-ID": "req-lou"})
    client.put(f"/lender/accept/{loan_id}", json=ach(), headers={**max_.headers, "X-Request-ID": "req-max"})
    # Then: four events, oldest first, each with its actor, amount and request id
    events = trail(client, bea, loan_id)
    assert summary(events) == [
        ("created", bea.user_id, Decimal("1000.10"), None, "req-create"),
        ("accepted", lou.user_id, Decimal("600.05"), lou.email, "req-lou"),
        ("accepted", max_.user_id, Decimal("400.05"), max_.email, "req-max"),
        ("activated", max_.user_id, Decimal("1000.10"), None, "req-max"),
    ]
    assert all(event["at"].endswith("Z") and event["eventId"] for event in events)
    assert len({event["eventId"] for event in events}) == 4
    assert sam.user_id not in str(events)


def test_declines_and_cancellation_are_recorded(client: TestClient, people: dict[str, TestUser]) -> None:
    bea, lou, max_ = people["bea"], people["lou"], people["max"]
    loan_id = post_json(client, "/loans", loan_body([(lou, "600.05"), (max_, "400.05")]), bea.headers).json()["loanId"]
    accept(client, lou, loan_id)
    decline(client, max_, loan_id, headers={"X-Request-ID": "req-decline"})
    cancel(client, bea, loan_id, headers={"X-Request-ID": "req-cancel"})

    events = trail(client, bea, loan_id)

    assert [event["type"] for event in events] == ["created", "accepted", "declined", "cancelled"]
    assert summary(events)[2:] == [
        ("declined", max_.user_id, Decimal("400.05"), max_.email, "req-decline"),
        ("cancelled", bea.user_id, Decimal("600.05"), None, "req-cancel"),
    ]


def test_refused_requests_write_no_event(client: TestClient, people: dict[str, TestUser]) -> None:
    bea, lou = people["bea"], people["lou"]
    loan_id = post_json(client, "/loans", loan_body([(lou, "100.00")]), bea.headers).json()["loanId"]
    accept(client, lou, loan_id)
    accept(client, lou, loan_id)  # 409 ALREADY_RESPONDED
    decline(client, lou, loan_id)  # 409 ALREADY_RESPONDED
    cancel(client, bea, loan_id)  # 409 LOAN_NOT_PENDING (the loan is active)
    client.put(f"/lender/accept/{loan_id}", json=ach(routingNumber="123"), headers=people["max"].headers)  # 422

    assert [event["type"] for event in trail(client, bea, loan_id)] == ["created", "accepted", "activated"]


def test_a_generated_request_id_is_stored_when_none_is_sent(client: TestClient, people: dict[str, TestUser]) -> None:
    response = post_json(client, "/loans", loan_body([(people["lou"], "100.00")]), people["bea"].headers)

    events = trail(client, people["bea"], response.json()["loanId"])

    assert events[0]["requestId"] == response.headers["X-Request-ID"]


def test_an_unsafe_request_id_is_replaced_not_stored(client: TestClient, people: dict[str, TestUser]) -> None:
    response = post_json(client, "/loans", loan_body([(people["lou"], "100.00")]), {**people["bea"].headers, "X-Request-ID": "a b<c>"})

    events = trail(client, people["bea"], response.json()["loanId"])

    assert events[0]["requestId"] == response.headers["X-Request-ID"] != "a b<c>"


def test_only_the_borrower_reads_the_trail(client: TestClient, people: dict[str, TestUser]) -> None:
    loan_id = post_json(client, "/loans", loan_body([(people["lou"], "100.00")]), people["bea"].headers).json()["loanId"]

    assert client.get(f"/loans/{loan_id}/events", headers=people["lou"].headers).status_code == 404
    assert client.get(f"/loans/{loan_id}/events", headers=people["sam"].headers).status_code == 404
    assert client.get(f"/loans/{loan_id}/events").status_code == 401
    assert client.get("/loans/0190f3a1-0000-7000-8000-000000000000/events", headers=people["bea"].headers).status_code == 404


def test_the_trail_is_documented_in_the_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    operation = spec["paths"]["/loans/{loanId}/events"]["get"]
    assert {"200", "401", "404"} <= set(operation["responses"])
    assert "borrower" in operation["summary"].lower()


def test_events_keep_their_order_whatever_the_clock_says(client: TestClient, app: FastAPI, clock: Any, people: dict[str, TestUser]) -> None:
    from tests.loans.helpers import renew_token

    # Given: the app's clock runs an hour ahead of the machine's
    clock.advance(hours=1)
    for person in people.values():
        renew_token(app, person)
    body = loan_body([(people["lou"], "100.00"), (people["max"], "50.00")])
    loan_id = post_json(client, "/loans", body, people["bea"].headers).json()["loanId"]
    # When: the lenders answer
    accept(client, people["lou"], loan_id)
    decline(client, people["max"], loan_id)
    # Then: the trail is still in the order things happened
    assert [event["type"] for event in trail(client, people["bea"], loan_id)] == ["created", "accepted", "declined"]


def test_the_audit_trail_paginates_oldest_first(client: TestClient, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    # Given: created, then two acceptances and the activation (4 events); When: read two at a time
    loan_id = loan["loanId"]
    for lender in (people["lou"], people["max"]):
        assert accept(client, lender, loan_id).status_code == 200
    pages, cursor = [], None
    while True:
        url = f"/loans/{loan_id}/events?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=people["bea"].headers).json()
        pages.append([event["type"] for event in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    # Then: pages of two, in the order things happened, nothing twice
    assert [kind for page in pages for kind in page] == ["created", "accepted", "accepted", "activated"]
    assert all(len(page) <= 2 for page in pages)
    tampered = client.get(f"/loans/{loan_id}/events?limit=2&cursor=abc.def", headers=people["bea"].headers)
    assert tampered.status_code == 422 and tampered.json()["error"]["details"][0]["field"] == "cursor"
