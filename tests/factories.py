"""Test factories: people and their tokens.

`a_user` is the one way tests get an authenticated caller: it registers through the public API
(POST /auth/register), so every test's user is made exactly as a real one is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient

DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass
class TestUser:
    __test__ = False  # a factory product, not a test class for pytest to collect

    user_id: str
    email: str
    first_name: str
    last_name: str
    access_token: str
    password: str = DEFAULT_PASSWORD
    refresh_token: str | None = None
    roles: list[str] = field(default_factory=lambda: ["borrower"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def a_user(app: FastAPI, *, email: str | None = None, first_name: str = "Ada", last_name: str = "Lovelace") -> TestUser:
    """A registered user with a valid access token (POST /auth/register on `app`)."""
    body = {
        "email": email or unique_email(),
        "password": DEFAULT_PASSWORD,
        "firstName": first_name,
        "lastName": last_name,
    }
    response = TestClient(app).post("/auth/register", json=body)
    assert response.status_code == 201, f"a_user: registration failed: {response.status_code} {response.text}"
    registered = response.json()
    user = registered["user"]
    return TestUser(
        user_id=user["userId"],
        email=user["email"],
        first_name=user["firstName"],
        last_name=user["lastName"],
        access_token=registered["accessToken"],
        refresh_token=registered["refreshToken"],
        roles=user["roles"],
    )
