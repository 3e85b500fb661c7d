"""POST /auth/register on DynamoDB Local: contract, storage, uniqueness under concurrency, lender at sign-up."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.tokens import hash_refresh_token
from app.db.dynamo import Dynamo
from app.db.keys import email_key, refresh_token_key, session_family_key, user_key
from tests.auth.conftest import PASSWORD, invite, register, registration
from tests.factories import unique_email


def test_register_returns_profile_and_tokens(client: TestClient) -> None:
    email = unique_email()
    response = register(client, email=email, phone="+14155550123")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"user", "accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "bearer" and body["expiresIn"] == 900
    user = body["user"]
    assert set(user) == {"userId", "email", "firstName", "lastName", "phone", "roles", "createdAt", "emailVerified", "emailNotifications"}
    assert user["email"] == email and user["roles"] == ["borrower"] and user["phone"] == "+14155550123"
    assert user["emailVerified"] is False and user["emailNotifications"] is True  # a new account must verify its email
    assert user["createdAt"].endswith("Z")
    assert response.headers["cache-control"] == "no-store"


def test_access_token_from_register_authenticates(client: TestClient) -> None:
    body = register(client).json()
    headers = {"Authorization": f"Bearer {body['accessToken']}"}
    assert client.post("/auth/logout", json={"refreshToken": "nope"}, headers=headers).status_code == 204


def test_phone_is_optional_and_null(client: TestClient) -> None:
    assert register(client).json()["user"]["phone"] is None
    assert register(client, phone=None).json()["user"]["phone"] is None


def test_items_keep_hash_on_claim_only_and_token_only_hashed(client: TestClient, db: Dynamo) -> None:
    body = register(client).json()
    user_id, email = body["user"]["userId"], body["user"]["email"]
    user_item = db.get(user_key(user_id))
    claim = db.get(email_key(email))
    assert user_item is not None and claim is not None
    assert "passwordHash" not in user_item and user_item["roles"] == {"borrower"}
    assert claim["userId"] == user_id and claim["passwordHash"].startswith("$argon2id$")
    assert PASSWORD not in str(user_item) + str(claim)
    token_item = db.get(refresh_token_key(hash_refresh_token(body["refreshToken"])))
    assert token_item is not None and token_item["userId"] == user_id
    assert body["refreshToken"] not in str(token_item)
    assert token_item["expireAt"] == token_item["expiresAt"]  # TTL cleans it up
    family = db.get(session_family_key(token_item["familyId"]))
    assert family is not None and family["revoked"] is False and family["expireAt"] >= token_item["expireAt"]


def test_email_is_normalised_and_unique(client: TestClient, db: Dynamo) -> None:
    email = unique_email()
    first = register(client, email=f"  {email.upper()}  ")
    assert first.status_code == 201 and first.json()["user"]["email"] == email
    assert db.get(email_key(email)) is not None
    second = register(client, email=email.capitalize())
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize("length", [12, 64, 128])
def test_password_lengths_accepted(client: TestClient, length: int) -> None:
    assert register(client, password="p" * length).status_code == 201


@pytest.mark.parametrize("length", [0, 11, 129])
def test_password_lengths_refused_naming_the_field(client: TestClient, length: int) -> None:
    response = register(client, password="p" * length)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in response.json()["error"]["details"]] == ["password"]


def test_password_is_not_trimmed(client: TestClient) -> None:
    email = unique_email()
    assert register(client, email=email, password="  spaced password  ").status_code == 201
    assert client.post("/auth/login", json={"email": email, "password": "spaced password"}).status_code == 401
    assert client.post("/auth/login", json={"email": email, "password": "  spaced password  "}).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"firstName": "   "}, "firstName"),
        ({"lastName": "x" * 101}, "lastName"),
        ({"phone": "4155550123"}, "phone"),
        ({"phone": "+0123"}, "phone"),
        ({"role": "admin"}, "role"),
    ],
)
def test_invalid_fields_are_422_with_field_details(client: TestClient, overrides: dict[str, str], field: str) -> None:
    response = register(client, **overrides)
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


def test_missing_fields_are_named(client: TestClient) -> None:
    response = client.post("/auth/register", json={"email": unique_email()})
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"password", "firstName", "lastName"}


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post("/auth/register", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"


def test_concurrent_registrations_of_one_email_make_one_account(app: FastAPI) -> None:
    email = unique_email()
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        with TestClient(app, raise_server_exceptions=False) as own_client:
            barrier.wait()
            statuses.append(own_client.post("/auth/register", json=registration(email=email)).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]


@pytest.mark.parametrize("attempt", range(5))
def test_two_concurrent_registrations_one_201_one_409_email_taken(app: FastAPI, attempt: int) -> None:
    email = unique_email()
    answers: list[tuple[int, str | None]] = []
    barrier = threading.Barrier(2)

    def register_once(spelling: str) -> None:
        with TestClient(app, raise_server_exceptions=False) as own_client:
            barrier.wait()
            response = own_client.post("/auth/register", json=registration(email=spelling))
            answers.append((response.status_code, response.json().get("error", {}).get("code")))

    threads = [threading.Thread(target=register_once, args=(spelling,)) for spelling in (email, email.upper())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=lambda answer: answer[0]) == [(201, None), (409, "EMAIL_TAKEN")]


def test_invited_email_registers_as_lender(client: TestClient, db: Dynamo) -> None:
    email = unique_email()
    invite(db, email)
    body = register(client, email=email.upper()).json()
    assert body["user"]["roles"] == ["borrower", "lender"]
    assert db.get(user_key(body["user"]["userId"]))["roles"] == {"borrower", "lender"}  # type: ignore[index]


def test_invitation_of_another_email_does_not_make_a_lender(client: TestClient, db: Dynamo) -> None:
    invite(db, unique_email())
    assert register(client).json()["user"]["roles"] == ["borrower"]
