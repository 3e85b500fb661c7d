"""POST /auth/refresh: rotation, reuse detection revoking the family, expiry, storage as a hash with TTL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.tokens import hash_refresh_token
from app.clock import epoch
from app.db.dynamo import Dynamo
from app.db.keys import refresh_token_key, session_family_key
from tests.auth.conftest import assert_unauthenticated, bearer, login, refresh, register, table_dump
from tests.factories import unique_email
from tests.support.clock import FakeClock


@pytest.fixture
def account(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = register(client).json()
    return body


def test_refresh_rotates_to_a_new_pair(client: TestClient, account: dict[str, Any]) -> None:
    response = refresh(client, account["refreshToken"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "bearer" and body["expiresIn"] == 900
    assert body["refreshToken"] != account["refreshToken"] and body["accessToken"] != account["accessToken"]
    assert response.headers["cache-control"] == "no-store"
    profile = client.get("/user/profile", headers=bearer(body["accessToken"]))
    assert profile.status_code == 200 and profile.json()["userId"] == account["user"]["userId"]
    assert refresh(client, body["refreshToken"]).status_code == 200  # the new one works once too


def test_a_used_refresh_token_is_refused(client: TestClient, account: dict[str, Any]) -> None:
    assert refresh(client, account["refreshToken"]).status_code == 200
    assert_unauthenticated(refresh(client, account["refreshToken"]))


def test_reuse_revokes_the_whole_family(client: TestClient, account: dict[str, Any]) -> None:
    # Given a session rotated twice, and another session of the same user
    second = refresh(client, account["refreshToken"]).json()["refreshToken"]
    newest = refresh(client, second).json()["refreshToken"]
    other_session = login(client, account["user"]["email"]).json()["refreshToken"]
    # When a spent token is presented again
    assert_unauthenticated(refresh(client, account["refreshToken"]))
    # Then the newest token of that family is dead too, and the other session is not
    assert_unauthenticated(refresh(client, newest))
    assert refresh(client, other_session).status_code == 200


def test_reuse_marks_the_family_revoked_in_the_table(client: TestClient, db: Dynamo, account: dict[str, Any]) -> None:
    refresh(client, account["refreshToken"])
    refresh(client, account["refreshToken"])
    item = db.get(refresh_token_key(hash_refresh_token(account["refreshToken"])))
    assert item is not None
    family = db.get(session_family_key(item["familyId"]))
    assert family is not None and family["revoked"] is True


def test_refresh_token_expires_after_14_days(client: TestClient, clock: FakeClock) -> None:
    early, late = register(client).json(), register(client).json()
    clock.advance(days=14, seconds=-1)
    assert refresh(client, early["refreshToken"]).status_code == 200
    clock.advance(seconds=1)
    assert_unauthenticated(refresh(client, late["refreshToken"]))


def test_a_rotated_token_gets_a_fresh_14_days(client: TestClient, clock: FakeClock, account: dict[str, Any]) -> None:
    clock.advance(days=10)
    rotated = refresh(client, account["refreshToken"]).json()["refreshToken"]
    clock.advance(days=10)
    assert refresh(client, rotated).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "x" * 512, "  "])
def test_unknown_refresh_token_is_401(client: TestClient, token: str) -> None:
    assert_unauthenticated(refresh(client, token))


@pytest.mark.parametrize("body", [{}, {"refreshToken": ""}, {"refreshToken": "x" * 513}, {"refreshToken": 42}, {"token": "x"}])
def test_invalid_refresh_body_is_422(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/auth/refresh", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] in {"refreshToken", "token"}


def test_refresh_needs_no_access_token(client: TestClient, account: dict[str, Any]) -> None:
    response = client.post("/auth/refresh", json={"refreshToken": account["refreshToken"]}, headers={"Authorization": "Basic x"})
    assert response.status_code == 200


def test_tokens_are_stored_only_as_hashes_with_a_ttl(client: TestClient, db: Dynamo, clock: FakeClock, account: dict[str, Any]) -> None:
    rotated = refresh(client, account["refreshToken"]).json()
    logged_in = login(client, account["user"]["email"]).json()
    dump = table_dump(db)
    for token in (account["refreshToken"], rotated["refreshToken"], logged_in["refreshToken"]):
        assert token not in dump
        item = db.get(refresh_token_key(hash_refresh_token(token)))
        assert item is not None and item["userId"] == account["user"]["userId"]
        assert item["expireAt"] == item["expiresAt"] == epoch(clock.now() + timedelta(days=14))
        family = db.get(session_family_key(item["familyId"]))
        assert family is not None and family["expireAt"] >= item["expireAt"]
    for access in (account["accessToken"], rotated["accessToken"], logged_in["accessToken"]):
        assert access not in dump


def test_concurrent_use_of_one_token_never_yields_two_live_sessions(app: FastAPI, account: dict[str, Any]) -> None:
    results: list[tuple[int, str | None]] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        with TestClient(app, raise_server_exceptions=False) as own:
            barrier.wait()
            response = refresh(own, account["refreshToken"])
            results.append((response.status_code, response.json().get("refreshToken")))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) in ([200, 401], [401, 401])
    with TestClient(app) as check:
        live = [token for status, token in results if status == 200 and token and refresh(check, token).status_code == 200]
    assert live == []  # the loser presented a spent token: the family is revoked


def test_refresh_of_a_user_who_logged_in_with_another_email_spelling(client: TestClient) -> None:
    email = unique_email()
    register(client, email=email)
    token = login(client, email.upper()).json()["refreshToken"]
    assert refresh(client, token).status_code == 200
