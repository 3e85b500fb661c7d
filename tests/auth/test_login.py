"""POST /auth/login on DynamoDB Local: the contract, normalised emails, uniform failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import argon2.low_level
import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import PASSWORD, bearer, login, register, without_request_id
from tests.factories import unique_email

LOGIN_FIELDS = {"user", "accessToken", "refreshToken", "tokenType", "expiresIn", "pendingInvitations"}


def test_login_returns_profile_tokens_and_pending_invitations(client: TestClient) -> None:
    email = unique_email()
    registered = register(client, email=email).json()
    response = login(client, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == LOGIN_FIELDS
    assert body["user"] == registered["user"]
    assert body["tokenType"] == "bearer" and body["expiresIn"] == 900 and body["pendingInvitations"] == 0
    assert body["refreshToken"] != registered["refreshToken"]
    assert response.headers["cache-control"] == "no-store"
    assert client.get("/user/profile", headers=bearer(body["accessToken"])).json()["email"] == email


def test_login_email_is_trimmed_and_case_insensitive(client: TestClient) -> None:
    email = unique_email()
    register(client, email=email)
    response = login(client, f"  {email.upper()} ")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == email


@pytest.mark.parametrize("length", [64, 128])
def test_long_passwords_register_and_log_in(client: TestClient, length: int) -> None:
    email, password = unique_email(), "é" + "p" * (length - 1)  # multi-byte: characters, not bytes, count
    assert register(client, email=email, password=password).status_code == 201
    assert login(client, email, password).status_code == 200


def test_password_is_used_exactly_as_sent(client: TestClient) -> None:
    email = unique_email()
    register(client, email=email, password=PASSWORD + " ")
    assert login(client, email, PASSWORD).status_code == 401
    assert login(client, email, PASSWORD.upper() + " ").status_code == 401
    assert login(client, email, PASSWORD + " ").status_code == 200


def test_passwords_differing_only_after_the_72nd_byte_do_not_verify(client: TestClient) -> None:
    email, prefix = unique_email(), "x" * 72
    register(client, email=email, password=prefix + "first")
    response = login(client, email, prefix + "second")
    assert response.status_code == 401 and response.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert login(client, email, prefix + "first").status_code == 200


def test_wrong_password_is_401_invalid_credentials(client: TestClient) -> None:
    email = unique_email()
    register(client, email=email)
    response = login(client, email, "not the right password")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "INVALID_CREDENTIALS" and error["details"] == [] and error["requestId"]


def test_wrong_password_and_unknown_email_answer_byte_identical_bodies(client: TestClient) -> None:
    email = unique_email()
    register(client, email=email)
    wrong = login(client, email, "not the right password")
    unknown = login(client, unique_email(), "not the right password")
    assert wrong.status_code == unknown.status_code == 401
    wrong_id, unknown_id = wrong.json()["error"]["requestId"], unknown.json()["error"]["requestId"]
    assert wrong.content.replace(wrong_id.encode(), b"ID") == unknown.content.replace(unknown_id.encode(), b"ID")
    assert without_request_id(wrong) == without_request_id(unknown)
    ignored = {"x-request-id", "x-db-requests", "content-length"}
    assert {k: v for k, v in wrong.headers.items() if k not in ignored} == {k: v for k, v in unknown.headers.items() if k not in ignored}


@pytest.fixture
def argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts argon2id verifications done by the argon2-cffi library itself (not our code)."""
    calls: list[str] = []
    original: Callable[..., Any] = argon2.low_level.verify_secret

    def counting(hash: bytes, secret: bytes, type: Any) -> Any:
        calls.append(hash.decode()[:9])
        return original(hash, secret, type)

    monkeypatch.setattr(argon2.low_level, "verify_secret", counting)
    return calls


def test_unknown_email_still_runs_one_argon2id_verify(client: TestClient, argon2_verifications: list[str]) -> None:
    email = unique_email()
    register(client, email=email)
    argon2_verifications.clear()
    assert login(client, email, "not the right password").status_code == 401
    assert argon2_verifications == ["$argon2id"]
    argon2_verifications.clear()
    assert login(client, unique_email(), "not the right password").status_code == 401
    assert argon2_verifications == ["$argon2id"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "someone@example.com", "password": "p" * 129}, ["password"]),
        ({"email": "someone@example.com", "password": ""}, ["password"]),
        ({"email": "not-an-email", "password": PASSWORD}, ["email"]),
        ({"email": "someone@example.com"}, ["password"]),
        ({"password": PASSWORD}, ["email"]),
        ({"email": "someone@example.com", "password": PASSWORD, "remember": True}, ["remember"]),
        ({"email": "someone@example.com", "password": 123456789012}, ["password"]),
    ],
)
def test_invalid_login_bodies_are_422_naming_the_field(client: TestClient, body: dict[str, Any], fields: list[str]) -> None:
    response = client.post("/auth/login", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [detail["field"] for detail in error["details"]] == fields


def test_login_body_must_be_json(client: TestClient) -> None:
    malformed = client.post("/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "BAD_REQUEST"
    form = client.post("/auth/login", data={"email": "a@example.com", "password": PASSWORD})
    assert form.status_code in (400, 415) and "error" in form.json()
