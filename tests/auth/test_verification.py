"""Email verification on DynamoDB Local: the link issued at registration, POST /auth/verify-email, single use, expiry,
another account's token, and a resend replacing the previous link. Time moves with the FakeClock, never by sleeping."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from app.auth.verification import TOKEN_TTL_SECONDS, token_hash, verification_token
from app.clock import epoch
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import EVENT, PARTITION_KEY, SORT_KEY, user_key, user_partition
from tests.auth.conftest import bearer, login, register, table_dump, without_request_id
from tests.factories import latest_verification_token, verification_tokens
from tests.support.clock import FakeClock

INVALID = "INVALID_VERIFICATION_TOKEN"


def user_events(db: Dynamo, user_id: str) -> list[dict[str, Any]]:
    key = Expression(f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :event)", values={":pk": user_partition(user_id), ":event": EVENT})
    return db.query_all(key, consistent=True)


def verify(client: TestClient, token: str, access_token: str) -> Response:
    response: Response = client.post("/auth/verify-email", json={"token": token}, headers=bearer(access_token))
    return response


def assert_invalid(response: Response) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == INVALID and response.json()["error"]["details"] == []


def test_registration_stores_only_the_hash_and_writes_the_verification_event(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    # When a user registers
    response = register(client)
    body = response.json()
    user_id, now = body["user"]["userId"], epoch(app.state.clock.now())
    # Then the user item holds the link's hash, its expiry (24 h) and the send time, and is unverified
    item = db.get(user_key(user_id))
    assert item is not None
    assert item["emailVerified"] is False and item["emailNotifications"] is True
    assert item["verificationExpiresAt"] == now + TOKEN_TTL_SECONDS == now + 24 * 3600
    assert item["verificationSentAt"] == [now]
    # And one verification_requested event carries the nonce and the address, in the user's partition
    (event,) = user_events(db, user_id)
    assert event["type"] == "verification_requested" and event["entity"] == "event"
    assert event["userId"] == event["actorId"] == user_id and event["email"] == body["user"]["email"]
    assert event["requestId"] == response.headers["x-request-id"] and event["at"] == body["user"]["createdAt"]
    token = verification_token(settings=app.state.settings, user_id=user_id, nonce=event["nonce"])
    assert item["verificationHash"] == token_hash(token)
    # And the token itself is stored nowhere, nor returned
    assert token not in table_dump(db) and token not in response.text


def test_the_token_is_url_safe_and_bound_to_user_and_nonce(app: FastAPI) -> None:
    settings = app.state.settings
    token = verification_token(settings=settings, user_id="u-1", nonce="n-1")
    assert token == verification_token(settings=settings, user_id="u-1", nonce="n-1")
    assert len(token) == 43 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    others = {verification_token(settings=settings, user_id=u, nonce=n) for u, n in (("u-2", "n-1"), ("u-1", "n-2"), ("u-1n", "-1"))}
    assert token not in others and len(others) == 3
    other_secret = settings.model_copy(update={"jwt_secret": "another-secret-" + "x" * 40})
    assert verification_token(settings=other_secret, user_id="u-1", nonce="n-1") != token


def test_verifying_marks_the_email_verified_once(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    registered = register(client).json()
    user_id, access = registered["user"]["userId"], registered["accessToken"]
    token = latest_verification_token(app, user_id)

    # When the user opens the link
    verified = verify(client, token, access)

    # Then the answer is their Profile, verified; the item is marked and the hash is gone; an event says so
    assert verified.status_code == 200, verified.text
    assert verified.json() == {**registered["user"], "emailVerified": True}
    assert client.get("/user/profile", headers=bearer(access)).json()["emailVerified"] is True
    item = db.get(user_key(user_id)) or {}
    assert item["emailVerified"] is True and item["verifiedAt"] == registered["user"]["createdAt"]
    assert "verificationHash" not in item and "verificationExpiresAt" not in item
    assert [event["type"] for event in user_events(db, user_id)] == ["verification_requested", "email_verified"]
    # And the same link never works again
    assert_invalid(verify(client, token, access))
    assert [event["type"] for event in user_events(db, user_id)] == ["verification_requested", "email_verified"]


def test_a_link_expires_after_24_hours(app: FastAPI, client: TestClient, clock: FakeClock) -> None:
    first, second = register(client).json(), register(client).json()
    tokens = {user["user"]["userId"]: latest_verification_token(app, user["user"]["userId"]) for user in (first, second)}

    # One second before the 24 hours are up the link works (with a fresh sign-in: access tokens live minutes)
    clock.advance(seconds=TOKEN_TTL_SECONDS - 1)
    access = login(client, first["user"]["email"]).json()["accessToken"]
    assert verify(client, tokens[first["user"]["userId"]], access).status_code == 200
    # At 24 hours it does not
    clock.advance(seconds=1)
    access = login(client, second["user"]["email"]).json()["accessToken"]
    assert_invalid(verify(client, tokens[second["user"]["userId"]], access))
    assert client.get("/user/profile", headers=bearer(access)).json()["emailVerified"] is False


def test_another_accounts_token_is_useless(app: FastAPI, client: TestClient) -> None:
    mallory, alice = register(client).json(), register(client).json()
    alices_token = latest_verification_token(app, alice["user"]["userId"])

    # Mallory presents Alice's (valid, unused) token: refused, and Mallory stays unverified
    assert_invalid(verify(client, alices_token, mallory["accessToken"]))
    assert client.get("/user/profile", headers=bearer(mallory["accessToken"])).json()["emailVerified"] is False
    # Alice's link is untouched by the attempt
    assert verify(client, alices_token, alice["accessToken"]).status_code == 200


def test_a_resend_replaces_the_previous_link(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    registered = register(client).json()
    user_id, access = registered["user"]["userId"], registered["accessToken"]
    old = latest_verification_token(app, user_id)

    resent = client.post("/auth/resend-verification", headers=bearer(access))

    assert resent.status_code == 202 and resent.json() == {"status": "sent"}
    first, new = verification_tokens(app, user_id)
    assert first == old and new != old and latest_verification_token(app, user_id) == new
    assert_invalid(verify(client, old, access))  # only the latest link works
    assert verify(client, new, access).status_code == 200


def test_every_unusable_token_gets_the_same_answer(app: FastAPI, client: TestClient, clock: FakeClock) -> None:
    users = [register(client).json() for _ in range(4)]
    ids = [user["user"]["userId"] for user in users]
    # used: verified already
    used = latest_verification_token(app, ids[0])
    verify(client, used, users[0]["accessToken"])
    # replaced: a resend came after it
    replaced = latest_verification_token(app, ids[1])
    client.post("/auth/resend-verification", headers=bearer(users[1]["accessToken"]))
    # another account's
    foreign = latest_verification_token(app, ids[3])
    answers = [
        verify(client, used, users[0]["accessToken"]),
        verify(client, replaced, users[1]["accessToken"]),
        verify(client, foreign, users[2]["accessToken"]),
        verify(client, "made-up-token", users[2]["accessToken"]),
    ]
    # expired
    expired = latest_verification_token(app, ids[3])
    clock.advance(seconds=TOKEN_TTL_SECONDS)
    answers.append(verify(client, expired, login(client, users[3]["user"]["email"]).json()["accessToken"]))

    bodies = [without_request_id(answer) for answer in answers]
    assert all(answer.status_code == 422 for answer in answers)
    assert all(body == bodies[0] for body in bodies) and bodies[0]["error"]["code"] == INVALID


@pytest.mark.parametrize(
    "body",
    [
        {"token": ""},
        {"token": "x" * 513},
        {"token": "abc\x00def"},
        {"token": "abc\ndef"},
        {"token": "\u0085"},
        {"token": 12},
        {},
        {"token": None},
    ],
    ids=["empty", "too-long", "nul", "newline", "c1-control", "number", "missing", "null"],
)
def test_a_malformed_token_is_a_validation_error(client: TestClient, body: dict[str, Any]) -> None:
    access = register(client).json()["accessToken"]
    response = client.post("/auth/verify-email", json=body, headers=bearer(access))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and [detail["field"] for detail in error["details"]] == ["token"]


def test_a_512_character_token_is_checked_not_refused(client: TestClient) -> None:
    access = register(client).json()["accessToken"]
    assert_invalid(verify(client, "x" * 512, access))
    refused = client.post("/auth/verify-email", json={"token": "t", "extra": 1}, headers=bearer(access))
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "extra"


def test_verification_routes_need_a_token(client: TestClient) -> None:
    for response in (client.post("/auth/verify-email", json={"token": "t"}), client.post("/auth/resend-verification")):
        assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_an_already_verified_user_cannot_resend(app: FastAPI, client: TestClient) -> None:
    registered = register(client).json()
    verify(client, latest_verification_token(app, registered["user"]["userId"]), registered["accessToken"])
    response = client.post("/auth/resend-verification", headers=bearer(registered["accessToken"]))
    assert response.status_code == 409 and response.json()["error"]["code"] == "EMAIL_ALREADY_VERIFIED"
