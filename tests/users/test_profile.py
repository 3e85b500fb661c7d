"""GET/PATCH /user/profile on DynamoDB Local: sanitized, only three writable fields, E.164 phones."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import a_user

PROFILE_FIELDS = {"userId", "email", "firstName", "lastName", "phone", "roles", "createdAt", "emailVerified", "emailNotifications"}


def test_profile_is_the_callers_and_carries_no_secrets(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app, first_name="Ada", last_name="Lovelace")
    response = client.get("/user/profile", headers=ada.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PROFILE_FIELDS
    assert body["userId"] == ada.user_id and body["email"] == ada.email and body["roles"] == ["borrower"]
    assert body["emailVerified"] is True and body["emailNotifications"] is True  # a_user verifies by default
    text = response.text.lower()
    assert "hash" not in text and "password" not in text and ada.access_token not in response.text
    assert response.headers["x-db-requests"] == "1"


def test_profile_needs_a_token(client: TestClient) -> None:
    response = client.get("/user/profile")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


def test_patch_changes_only_what_was_sent(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app, first_name="Ada", last_name="Lovelace")
    response = client.patch("/user/profile", json={"firstName": "  Augusta ", "phone": "+14155550123"}, headers=ada.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["firstName"], body["lastName"], body["phone"]) == ("Augusta", "Lovelace", "+14155550123")
    assert client.get("/user/profile", headers=ada.headers).json() == body
    assert response.headers["x-db-requests"] == "1"


def test_phone_null_removes_it(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app)
    client.patch("/user/profile", json={"phone": "+442071838750"}, headers=ada.headers)
    response = client.patch("/user/profile", json={"phone": None}, headers=ada.headers)
    assert response.status_code == 200 and response.json()["phone"] is None


def test_empty_patch_changes_nothing(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app)
    before = client.get("/user/profile", headers=ada.headers).json()
    response = client.patch("/user/profile", json={}, headers=ada.headers)
    assert response.status_code == 200 and response.json() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"roles": ["borrower", "lender"]}, "roles"),
        ({"email": "someone@else.com"}, "email"),
        ({"userId": "x"}, "userId"),
        ({"passwordHash": "x"}, "passwordHash"),
        ({"phone": "4155550123"}, "phone"),
        ({"phone": "+0123"}, "phone"),
        ({"phone": "+1415555012345678"}, "phone"),
        ({"firstName": ""}, "firstName"),
        ({"firstName": "   "}, "firstName"),
        ({"firstName": None}, "firstName"),
        ({"lastName": "x" * 101}, "lastName"),
        ({"lastName": 42}, "lastName"),
        ({"emailNotifications": None}, "emailNotifications"),
        ({"emailNotifications": "false"}, "emailNotifications"),
        ({"emailNotifications": 0}, "emailNotifications"),
        ({"emailNotifications": 1}, "emailNotifications"),
        ({"emailVerified": True}, "emailVerified"),
    ],
)
def test_refused_updates_name_the_field_and_change_nothing(app: FastAPI, client: TestClient, body: dict, field: str) -> None:  # type: ignore[type-arg]
    ada = a_user(app)
    before = client.get("/user/profile", headers=ada.headers).json()
    response = client.patch("/user/profile", json=body, headers=ada.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in {detail["field"] for detail in error["details"]}
    assert client.get("/user/profile", headers=ada.headers).json() == before


def test_patch_body_must_be_an_object(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app)
    response = client.patch("/user/profile", json=["firstName"], headers=ada.headers)
    assert response.status_code == 422
