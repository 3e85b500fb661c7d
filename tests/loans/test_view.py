"""GET /loans/{loanId} and GET /loans/my-loans: one loan, and the borrower's loans newest first."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.keys import LOAN, loan_partition, user_partition
from app.db.table import GSI1_NAME
from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, cancel, create_loan, error_code, exact
from tests.support.clock import FakeClock
from tests.support.old_cursors import app_cursor_secret, old_format


@pytest.fixture
def borrower(app: FastAPI) -> TestUser:
    return a_user(app)


def test_borrower_reads_the_loan_as_created(client: TestClient, borrower: TestUser) -> None:
    created = create_loan(client, borrower, [("zed@example.com", "600.05"), ("amy@example.com", "400.05")])

    response = client.get(f"/loans/{created['loanId']}", headers=borrower.headers)

    assert response.status_code == 200
    assert response.json() == created  # lenders in the order they were invited, on every read


def test_loan_view_follows_acceptances_to_the_cent(client: TestClient, app: FastAPI, borrower: TestUser) -> None:
    lender = a_user(app)
    loan = create_loan(client, borrower, [(lender, "600.05"), ("later@example.com", "400.05")])
    assert accept(client, lender, loan["loanId"]).status_code == 200

    view = exact(client.get(f"/loans/{loan['loanId']}", headers=borrower.headers))

    assert view["fundedAmount"] == Decimal("600.05")
    assert view["status"] == "pending"
    mine = view["lenders"][0]
    assert (mine["status"], mine["lenderId"], mine["amount"]) == ("accepted", lender.user_id, Decimal("600.05"))
    assert mine["respondedAt"] is not None
    assert view["lenders"][1]["status"] == "invited"


@pytest.mark.parametrize("loan_id", ["0b7e4c1a-6f7d-4d0e-9a53-2f1c8e9b7d41", "not-a-uuid", "LOAN%23x", "a" * 64])
def test_unknown_or_malformed_loan_id_is_404(client: TestClient, borrower: TestUser, loan_id: str) -> None:
    response = client.get(f"/loans/{loan_id}", headers=borrower.headers)

    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"


def test_overlong_loan_id_is_422(client: TestClient, borrower: TestUser) -> None:
    response = client.get(f"/loans/{'a' * 65}", headers=borrower.headers)

    assert response.status_code == 422
    assert error_code(response) == "VALIDATION_ERROR"


def _three_loans(client: TestClient, clock: FakeClock, borrower: TestUser) -> list[str]:
    """Three loans one second apart, oldest first: pending, active, cancelled."""
    ids = []
    for amount in ("100.00", "200.00", "300.00"):
        ids.append(create_loan(client, borrower, [("a@example.com", amount)])["loanId"])
        clock.advance(seconds=1)
    return ids


def test_my_loans_are_newest_first(client: TestClient, clock: FakeClock, borrower: TestUser) -> None:
    ids = _three_loans(client, clock, borrower)

    response = client.get("/loans/my-loans", headers=borrower.headers)

    assert response.status_code == 200
    page = exact(response)
    assert [loan["loanId"] for loan in page["items"]] == ids[::-1]
    assert page["nextCursor"] is None
    assert [loan["amount"] for loan in page["items"]] == [Decimal("300.00"), Decimal("200.00"), Decimal("100.00")]


def test_my_loans_filters_by_status(client: TestClient, app: FastAPI, clock: FakeClock, borrower: TestUser) -> None:
    lender = a_user(app)
    pending = create_loan(client, borrower, [(lender, "100.00")])["loanId"]
    clock.advance(seconds=1)
    active = create_loan(client, borrower, [(lender, "200.00")])["loanId"]
    accept(client, lender, active)
    clock.advance(seconds=1)
    cancelled = create_loan(client, borrower, [(lender, "300.00")])["loanId"]
    cancel(client, borrower, cancelled)

    def ids(status: str) -> list[str]:
        response = client.get("/loans/my-loans", params={"status": status}, headers=borrower.headers)
        assert response.status_code == 200
        return [loan["loanId"] for loan in response.json()["items"]]

    assert ids("pending") == [pending]
    assert ids("active") == [active]
    assert ids("cancelled") == [cancelled]


def test_status_filter_is_validated(client: TestClient, borrower: TestUser) -> None:
    response = client.get("/loans/my-loans", params={"status": "funded"}, headers=borrower.headers)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "status"


def test_my_loans_pages_with_a_cursor(client: TestClient, clock: FakeClock, borrower: TestUser) -> None:
    ids = _three_loans(client, clock, borrower)

    first = client.get("/loans/my-loans", params={"limit": 2}, headers=borrower.headers).json()
    second = client.get("/loans/my-loans", params={"limit": 2, "cursor": first["nextCursor"]}, headers=borrower.headers).json()

    assert [loan["loanId"] for loan in first["items"]] == [ids[2], ids[1]]
    assert first["nextCursor"]
    assert [loan["loanId"] for loan in second["items"]] == [ids[0]]
    assert second["nextCursor"] is None


def test_filtered_pages_are_full_and_complete(client: TestClient, app: FastAPI, clock: FakeClock, borrower: TestUser) -> None:
    # Given: six loans, every other one cancelled
    pending = []
    for index in range(6):
        loan_id = create_loan(client, borrower, [("a@example.com", "100.00")])["loanId"]
        clock.advance(seconds=1)
        if index % 2:
            cancel(client, borrower, loan_id)
        else:
            pending.append(loan_id)
    # When: the pending ones are read two at a time
    seen: list[str] = []
    cursor = None
    while True:
        params = {"status": "pending", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/loans/my-loans", params=params, headers=borrower.headers).json()
        seen.extend(loan["loanId"] for loan in page["items"])
        cursor = page["nextCursor"]
        if not cursor:
            break
    # Then: every pending loan, once, newest first
    assert seen == pending[::-1]


@pytest.mark.parametrize("cursor", ["garbage", "abc.def", "e30.AAAAAAAAAAAAAAAAAAAAAA", "..", "é"])
def test_a_tampered_cursor_is_422(client: TestClient, clock: FakeClock, borrower: TestUser, cursor: str) -> None:
    response = client.get("/loans/my-loans", params={"cursor": cursor}, headers=borrower.headers)

    assert response.status_code == 422
    assert error_code(response) == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_a_cursor_edited_by_the_caller_is_422(client: TestClient, clock: FakeClock, borrower: TestUser) -> None:
    _three_loans(client, clock, borrower)
    cursor = client.get("/loans/my-loans", params={"limit": 1}, headers=borrower.headers).json()["nextCursor"]
    middle = len(cursor) // 2
    edited = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]

    response = client.get("/loans/my-loans", params={"cursor": edited}, headers=borrower.headers)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_another_users_cursor_is_422(client: TestClient, app: FastAPI, clock: FakeClock, borrower: TestUser) -> None:
    # Given: a cursor from user A's /loans/my-loans
    _three_loans(client, clock, borrower)
    cursor = client.get("/loans/my-loans", params={"limit": 1}, headers=borrower.headers).json()["nextCursor"]
    # When: user B sends it
    response = client.get("/loans/my-loans", params={"cursor": cursor}, headers=a_user(app).headers)
    # Then: refused on the cursor, while A may still use it
    assert response.status_code == 422
    assert error_code(response) == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "cursor"
    assert client.get("/loans/my-loans", params={"cursor": cursor}, headers=borrower.headers).status_code == 200


def test_a_cursor_is_not_base64_of_readable_json(client: TestClient, clock: FakeClock, borrower: TestUser) -> None:
    ids = _three_loans(client, clock, borrower)
    cursor = client.get("/loans/my-loans", params={"limit": 1}, headers=borrower.headers).json()["nextCursor"]

    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))

    assert "." not in cursor
    assert not any(part.encode() in raw for part in (*ids, borrower.user_id, "LOAN#", "USER#", '"S"'))


def test_a_cursor_issued_before_cursors_were_sealed_is_422(
    client: TestClient, settings: Settings, clock: FakeClock, borrower: TestUser
) -> None:
    """The old format (readable key + HMAC) for this very query, as the previous release signed it: clients restart at page one."""
    ids = _three_loans(client, clock, borrower)
    values = {":user": user_partition(borrower.user_id), ":loan": LOAN}
    scope = f"{settings.table_name}|{GSI1_NAME}|#gsiPartition = :user AND begins_with(#gsiSort, :loan)|{sorted(values.items())}|"
    last_key = {"PK": {"S": loan_partition(ids[2])}, "SK": {"S": user_partition(borrower.user_id)}}
    old = old_format(app_cursor_secret(settings.jwt_secret), scope, last_key)

    response = client.get("/loans/my-loans", params={"limit": 1, "cursor": old}, headers=borrower.headers)

    assert response.status_code == 422
    assert error_code(response) == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize("limit", [0, 101, -1, "ten"])
def test_limit_is_validated(client: TestClient, borrower: TestUser, limit: object) -> None:
    response = client.get("/loans/my-loans", params={"limit": limit}, headers=borrower.headers)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "limit"


def test_my_loans_lists_only_the_callers_loans(client: TestClient, app: FastAPI, borrower: TestUser) -> None:
    other = a_user(app)
    create_loan(client, other, [(borrower, "100.00")])

    assert client.get("/loans/my-loans", headers=borrower.headers).json() == {"items": [], "nextCursor": None}
    assert client.get("/loans/my-loans").status_code == 401
