"""Login throttling per email: 5 failures in 15 minutes lock that email; the state lives in the table."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.keys import login_throttle_key
from app.main import create_app
from tests.auth.conftest import PASSWORD, login, register
from tests.factories import unique_email
from tests.support.clock import FakeClock

WRONG = "definitely the wrong one"


@pytest.fixture
def email(client: TestClient) -> str:
    address = unique_email()
    assert register(client, email=address).status_code == 201
    return address


def fail(client: TestClient, email: str, times: int) -> None:
    for _ in range(times):
        response = login(client, email, WRONG)
        assert response.status_code == 401, response.text


def assert_locked(client: TestClient, email: str, password: str = PASSWORD) -> int:
    """The email is locked: 429 RATE_LIMITED with Retry-After; returns the seconds to wait."""
    response = login(client, email, password)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    return retry_after


def test_sixth_attempt_after_five_failures_is_429_even_with_the_right_password(client: TestClient, email: str) -> None:
    fail(client, email, 5)
    assert assert_locked(client, email) == 15 * 60
    assert_locked(client, email, WRONG)


def test_four_failures_do_not_lock(client: TestClient, email: str) -> None:
    fail(client, email, 4)
    assert login(client, email).status_code == 200


def test_lock_applies_to_that_email_only(client: TestClient, email: str) -> None:
    other = unique_email()
    register(client, email=other)
    fail(client, email, 5)
    assert_locked(client, email)
    assert login(client, other).status_code == 200


def test_lock_is_per_normalised_email(client: TestClient, email: str) -> None:
    fail(client, f" {email.upper()}", 5)
    assert_locked(client, email)


def test_lock_passes_after_15_minutes(client: TestClient, clock: FakeClock, email: str) -> None:
    fail(client, email, 5)
    clock.advance(minutes=10)
    assert assert_locked(client, email) == 5 * 60
    clock.advance(minutes=5)
    response = login(client, email)
    assert response.status_code == 200, response.text


def test_after_the_lock_a_fresh_window_starts(client: TestClient, clock: FakeClock, email: str) -> None:
    fail(client, email, 5)
    clock.advance(minutes=15, seconds=1)
    fail(client, email, 4)
    assert login(client, email).status_code == 200


def test_a_success_before_the_limit_resets_the_count(client: TestClient, db: Dynamo, email: str) -> None:
    fail(client, email, 4)
    assert login(client, email).status_code == 200
    assert db.get(login_throttle_key(email)) is None
    fail(client, email, 4)
    assert login(client, email).status_code == 200


def test_failures_older_than_15_minutes_do_not_count(client: TestClient, clock: FakeClock, email: str) -> None:
    fail(client, email, 4)
    clock.advance(minutes=15, seconds=1)
    fail(client, email, 4)
    assert login(client, email).status_code == 200


def test_unknown_emails_are_throttled_like_known_ones(client: TestClient) -> None:
    unknown = unique_email()
    fail(client, unknown, 5)
    assert_locked(client, unknown, WRONG)


def test_throttle_state_is_an_item_with_a_ttl(client: TestClient, db: Dynamo, clock: FakeClock, email: str) -> None:
    fail(client, email, 5)
    item = db.get(login_throttle_key(email))
    assert item is not None and item["failures"] == 5
    now = int(clock.now().timestamp())
    assert item["lockedUntil"] == now + 15 * 60
    assert item["expireAt"] >= item["lockedUntil"]
    assert WRONG not in str(item) and PASSWORD not in str(item)


@pytest.fixture
def second_instance(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """Another process over the same table (a second Lambda instance): nothing shared but DynamoDB."""
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as other:
        yield other


def test_lock_holds_across_app_instances(client: TestClient, app: FastAPI, second_instance: TestClient, email: str) -> None:
    assert second_instance.app is not app
    fail(client, email, 3)
    fail(second_instance, email, 2)
    assert_locked(client, email)
    assert_locked(second_instance, email)


def test_concurrent_guesses_get_no_more_than_five_tries(app: FastAPI, client: TestClient, email: str) -> None:
    """A burst of parallel wrong guesses must not slip past the limit while the lock is being written."""
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def guess() -> None:
        with TestClient(app, raise_server_exceptions=False) as own:
            barrier.wait()
            statuses.append(login(own, email, WRONG).status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 12, statuses
    assert_locked(client, email)
