"""POST /auth/resend-verification: at most 3 verification emails in any rolling hour (the registration's counts),
429 with Retry-After until the oldest leaves the hour; held in the user item, so concurrent resends cannot pass it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from app.db.dynamo import Dynamo
from app.db.keys import user_key
from tests.auth.conftest import bearer, login, register
from tests.factories import verification_tokens
from tests.support.clock import FakeClock


class Caller:
    """A registered, unverified user who signs in again whenever the clock has moved past their access token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.registered = register(client).json()
        self.user_id: str = self.registered["user"]["userId"]
        self.access: str = self.registered["accessToken"]

    def renew(self) -> None:
        self.access = login(self.client, self.registered["user"]["email"]).json()["accessToken"]

    def resend(self) -> Response:
        response: Response = self.client.post("/auth/resend-verification", headers=bearer(self.access))
        return response


def assert_throttled(response: Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert response.headers["retry-after"] == str(retry_after)


def test_three_emails_an_hour_counting_the_registration(app: FastAPI, client: TestClient, clock: FakeClock) -> None:
    caller = Caller(client)  # t = 0: the registration's email
    clock.advance(minutes=10)
    caller.renew()
    assert caller.resend().status_code == 202  # t = 10 min
    clock.advance(minutes=10)
    caller.renew()
    assert caller.resend().status_code == 202  # t = 20 min: the third email of the hour

    clock.advance(minutes=5)
    caller.renew()
    assert_throttled(caller.resend(), 35 * 60)  # t = 25 min: the registration's email leaves the hour at t = 60 min
    clock.advance(minutes=35, seconds=-1)
    caller.renew()
    assert_throttled(caller.resend(), 1)
    clock.advance(seconds=1)
    assert caller.resend().status_code == 202  # t = 60 min: a rolling hour, not a fixed one
    assert_throttled(caller.resend(), 10 * 60)  # now the t = 10 min email is the oldest of the 3
    assert len(verification_tokens(app, caller.user_id)) == 4  # refused resends wrote no event


def test_a_refused_resend_writes_nothing(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    caller = Caller(client)
    assert [caller.resend().status_code for _ in range(2)] == [202, 202]
    before = db.get(user_key(caller.user_id))
    assert_throttled(caller.resend(), 3600)
    assert db.get(user_key(caller.user_id)) == before and len(verification_tokens(app, caller.user_id)) == 3


@pytest.mark.dynamodb_local
@pytest.mark.parametrize("round_", range(2))
def test_ten_concurrent_resends_give_exactly_the_allowed_number(app: FastAPI, client: TestClient, db: Dynamo, round_: int) -> None:
    # Given a user whose registration email is the first of the hour
    caller = Caller(client)
    answers: list[tuple[int, Any]] = []
    barrier = threading.Barrier(10)

    def resend() -> None:
        with TestClient(app, raise_server_exceptions=False) as own_client:
            barrier.wait()
            response = own_client.post("/auth/resend-verification", headers=bearer(caller.access))
            answers.append((response.status_code, response.headers.get("retry-after")))

    # When ten resends race (real threads, one DynamoDB Local)
    threads = [threading.Thread(target=resend) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly two more emails were accepted, and the item and the events agree
    assert sorted(status for status, _ in answers) == [202, 202] + [429] * 8, answers
    assert {retry for status, retry in answers if status == 429} == {"3600"}
    item = db.get(user_key(caller.user_id)) or {}
    assert len(item["verificationSentAt"]) == 3 and len(verification_tokens(app, caller.user_id)) == 3
