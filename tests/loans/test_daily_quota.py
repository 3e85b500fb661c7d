"""The daily quota: per account per UTC day at most LOAN_CREATE_DAILY_LIMIT loans and INVITATION_DAILY_LIMIT invitations.

Beyond: 429 RATE_LIMITED with Retry-After = seconds until the next UTC midnight, nothing written. The count is
an item updated inside the creation's transaction, so concurrent creations (from two apps: two processes'
worth of locks) never pass the limit; an Idempotency-Key replay counts nothing; a new UTC day starts from 0.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.keys import daily_quota_key
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import TestUser, a_user, unique_email
from tests.loans.helpers import error_code, loan_body, post_json, renew_token
from tests.support.clock import FakeClock

LOANS, INVITATIONS = 3, 7


@pytest.fixture
def settings(endpoint_url: str, table_name: str) -> Settings:
    return make_settings(endpoint_url, table_name, loan_create_daily_limit=LOANS, invitation_daily_limit=INVITATIONS)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 2, 21, 30, 0, tzinfo=UTC))  # 2.5 hours before midnight UTC


def create(client: TestClient, borrower: TestUser, invitees: int = 1, headers: dict[str, str] | None = None, body: Any = None) -> Any:
    body = body or loan_body([(unique_email("invitee"), "100.00") for _ in range(invitees)])
    return post_json(client, "/loans", body, {**borrower.headers, **(headers or {})})


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert error_code(response) == "RATE_LIMITED"
    assert response.headers["Retry-After"] == str(int(2.5 * 3600))  # until 2026-12-03T00:00:00Z


def my_loans(client: TestClient, borrower: TestUser) -> list[Any]:
    return list(client.get("/loans/my-loans", headers=borrower.headers).json()["items"])


def test_the_loan_after_the_daily_limit_is_refused_until_the_next_utc_day(app: FastAPI, client: TestClient, clock: FakeClock) -> None:
    bea = a_user(app)
    for _ in range(LOANS):
        assert create(client, bea).status_code == 201
    assert_rate_limited(create(client, bea))
    assert len(my_loans(client, bea)) == LOANS
    assert create(client, a_user(app)).status_code == 201  # another account has its own count

    clock.advance(hours=2, minutes=30)  # 00:00:00Z: a new day
    renew_token(app, bea)  # the access token of 21:30 has expired
    assert create(client, bea).status_code == 201
    assert len(my_loans(client, bea)) == LOANS + 1


def test_invitations_count_across_the_days_loans(app: FastAPI, client: TestClient, db: Any) -> None:
    bea = a_user(app)
    assert create(client, bea, invitees=4).status_code == 201
    assert_rate_limited(create(client, bea, invitees=4))  # 8 > 7
    assert create(client, bea, invitees=3).status_code == 201  # exactly 7
    assert_rate_limited(create(client, bea, invitees=1))
    item = db.get(daily_quota_key(bea.user_id, "2026-12-02"))
    assert (item["loans"], item["invitations"]) == (2, 7)


def test_a_loan_with_more_invitees_than_a_day_allows_is_refused_before_any_write(app: FastAPI, client: TestClient, db: Any) -> None:
    bea = a_user(app)
    assert_rate_limited(create(client, bea, invitees=INVITATIONS + 1))
    assert db.get(daily_quota_key(bea.user_id, "2026-12-02")) is None


def test_an_idempotent_replay_counts_nothing(app: FastAPI, client: TestClient) -> None:
    bea = a_user(app)
    body = loan_body([(unique_email("invitee"), "100.00")])
    first = create(client, bea, headers={"Idempotency-Key": "quota-replay-1"}, body=body)
    assert first.status_code == 201
    for _ in range(LOANS + 2):
        replay = create(client, bea, headers={"Idempotency-Key": "quota-replay-1"}, body=body)
        assert replay.status_code == 201, replay.text
    for _ in range(LOANS - 1):
        assert create(client, bea).status_code == 201
    assert_rate_limited(create(client, bea))


@pytest.mark.dynamodb_local
def test_concurrent_creations_never_pass_the_limit(app: FastAPI, settings: Settings, clock: FakeClock) -> None:
    """2N creations at once, from two apps (each with its own in-process locks): exactly N are created."""
    other = create_app(settings, clock=clock)
    bea = a_user(app)
    attempts = 2 * LOANS
    barrier = threading.Barrier(attempts)

    def run(index: int) -> Any:
        client = TestClient(app if index % 2 else other, raise_server_exceptions=False)
        barrier.wait()
        return create(client, bea)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        responses = list(pool.map(run, range(attempts)))
    assert Counter(response.status_code for response in responses) == {201: LOANS, 429: LOANS}, [r.text for r in responses]
    with TestClient(app) as client:
        assert len(my_loans(client, bea)) == LOANS
