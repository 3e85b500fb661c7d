"""Idempotency-Key on POST /loans: replay, reuse with another body, in flight, crashed, expired, per user."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import idempotency
from app.clock import epoch
from app.db.dynamo import Dynamo
from app.db.keys import idempotency_key
from tests.factories import TestUser, a_user
from tests.loans.helpers import error_code, exact, loan_body, post_json, renew_token
from tests.support.clock import FakeClock


@pytest.fixture
def borrower(app: FastAPI) -> TestUser:
    return a_user(app)


def _body(amount: str = "1000.10") -> dict[str, Any]:
    return loan_body([("lou@example.com", "600.05"), ("max@example.com", str(Decimal(amount) - Decimal("600.05")))])


def _post(client: TestClient, user: TestUser, key: str, body: dict[str, Any] | None = None) -> Any:
    return post_json(client, "/loans", body or _body(), {**user.headers, "Idempotency-Key": key})


def _loan_count(client: TestClient, user: TestUser) -> int:
    return len(client.get("/loans/my-loans", params={"limit": 100}, headers=user.headers).json()["items"])


def test_a_retry_replays_the_first_response_and_creates_nothing(client: TestClient, borrower: TestUser) -> None:
    first = _post(client, borrower, "key-1")

    again = _post(client, borrower, "key-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert exact(again) == exact(first)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _loan_count(client, borrower) == 1


def test_the_same_key_with_another_body_is_refused(client: TestClient, borrower: TestUser) -> None:
    _post(client, borrower, "key-2")

    other = _post(client, borrower, "key-2", _body("1000.11"))

    assert other.status_code == 422
    assert error_code(other) == "IDEMPOTENCY_KEY_REUSED"
    assert _loan_count(client, borrower) == 1


def test_another_users_identical_key_is_unrelated(client: TestClient, app: FastAPI, borrower: TestUser) -> None:
    other = a_user(app)
    mine = _post(client, borrower, "shared-key")

    theirs = _post(client, other, "shared-key", _body("2000.00"))

    assert theirs.status_code == 201
    assert theirs.json()["loanId"] != mine.json()["loanId"]
    assert theirs.json()["borrowerId"] == other.user_id


def test_a_key_in_flight_is_409_in_progress(client: TestClient, db: Dynamo, clock: FakeClock, borrower: TestUser) -> None:
    # Given: a first request with this key claimed it a moment ago and is still running
    fingerprint = _fingerprint_of(_body())
    claim = idempotency.claim(db=db, user_id=borrower.user_id, key="key-3", fingerprint=fingerprint, now=clock.now())
    assert isinstance(claim, idempotency.Claim)
    # When: the retry arrives
    retry = _post(client, borrower, "key-3")
    # Then: 409, safe to retry, and nothing was created
    assert retry.status_code == 409
    assert error_code(retry) == "IDEMPOTENCY_IN_PROGRESS"
    assert _loan_count(client, borrower) == 0


def test_a_crashed_request_does_not_wedge_its_key(client: TestClient, db: Dynamo, clock: FakeClock, borrower: TestUser) -> None:
    # Given: a request claimed the key and died without completing or releasing it
    item = {
        **idempotency_key(borrower.user_id, hashlib.sha256(b"key-4").hexdigest()),
        "entity": "idempotency",
        "requestHash": _fingerprint_of(_body()),
        "state": "in_progress",
        "lockToken": "dead-request",
        "lockedUntil": epoch(clock.now()) + idempotency.LOCK_SECONDS,
        "expiresAt": epoch(clock.now() + idempotency.RETENTION),
        "expireAt": epoch(clock.now() + idempotency.RETENTION),
    }
    db.put(item)
    assert _post(client, borrower, "key-4").status_code == 409
    # When: its lock has expired
    clock.advance(seconds=idempotency.LOCK_SECONDS + 1)
    retry = _post(client, borrower, "key-4")
    # Then: the retry runs, once
    assert retry.status_code == 201
    assert _post(client, borrower, "key-4").json() == retry.json()
    assert _loan_count(client, borrower) == 1


def test_a_failed_request_releases_its_key(client: TestClient, borrower: TestUser) -> None:
    body = loan_body([("lou@example.com", "50.00")], amount="50.00")
    body["lenders"] = [{"email": "lou@example.com", "amount": body["amount"]}]
    first = post_json(
        client,
        "/loans",
        {**body, "lenders": [{"email": borrower.email, "amount": body["amount"]}]},
        {**borrower.headers, "Idempotency-Key": "key-5"},
    )
    assert error_code(first) == "SELF_INVITE"

    fixed = _post(client, borrower, "key-5", body)

    assert fixed.status_code == 201


def test_a_key_expires_after_24_hours(client: TestClient, app: FastAPI, clock: FakeClock, borrower: TestUser) -> None:
    first = _post(client, borrower, "key-6")
    clock.advance(hours=23, minutes=59)
    renew_token(app, borrower)
    assert _post(client, borrower, "key-6").json()["loanId"] == first.json()["loanId"]
    assert error_code(_post(client, borrower, "key-6", _body("2000.00"))) == "IDEMPOTENCY_KEY_REUSED"

    clock.advance(minutes=2)  # past 24 h: the record is dead even if TTL has not deleted it yet
    renew_token(app, borrower)
    later = _post(client, borrower, "key-6")

    assert later.status_code == 201
    assert later.json()["loanId"] != first.json()["loanId"]
    assert _loan_count(client, borrower) == 2


def test_expiry_is_checked_by_code_not_left_to_ttl(db: Dynamo, clock: FakeClock, borrower: TestUser) -> None:
    claimed = idempotency.claim(db=db, user_id=borrower.user_id, key="key-7", fingerprint="f", now=clock.now())
    assert isinstance(claimed, idempotency.Claim)
    record = db.get(claimed.key)
    assert record is not None
    assert record["expiresAt"] == epoch(clock.now() + timedelta(hours=24))
    assert record["expireAt"] >= record["expiresAt"]  # the TTL attribute never removes a live record


@pytest.mark.parametrize("key, status", [("k" * 255, 201), ("k" * 256, 422), ("", 422)])
def test_key_length_is_1_to_255(client: TestClient, borrower: TestUser, key: str, status: int) -> None:
    response = _post(client, borrower, key)

    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"


def test_without_a_key_every_post_creates_a_loan(client: TestClient, borrower: TestUser) -> None:
    post_json(client, "/loans", _body(), borrower.headers)
    post_json(client, "/loans", _body(), borrower.headers)

    assert _loan_count(client, borrower) == 2


def _fingerprint_of(body: dict[str, Any]) -> str:
    from app.loans.schemas import LoanCreate

    return idempotency.request_fingerprint(LoanCreate.model_validate(body).model_dump(mode="json"))
