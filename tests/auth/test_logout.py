"""POST /auth/logout: revokes the caller's refresh token (its session); needs an access token."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import assert_unauthenticated, bearer, login, refresh, register


@pytest.fixture
def account(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = register(client).json()
    return body


def logout(client: TestClient, access_token: str | None, refresh_token: str) -> Any:
    headers = bearer(access_token) if access_token else {}
    return client.post("/auth/logout", json={"refreshToken": refresh_token}, headers=headers)


def test_logout_is_204_and_the_refresh_token_stops_working(client: TestClient, account: dict[str, Any]) -> None:
    response = logout(client, account["accessToken"], account["refreshToken"])
    assert response.status_code == 204 and response.content == b""
    assert_unauthenticated(refresh(client, account["refreshToken"]))


def test_logout_of_a_rotated_token_ends_the_session(client: TestClient, account: dict[str, Any]) -> None:
    rotated = refresh(client, account["refreshToken"]).json()
    assert logout(client, rotated["accessToken"], rotated["refreshToken"]).status_code == 204
    assert_unauthenticated(refresh(client, rotated["refreshToken"]))


def test_logout_leaves_the_users_other_sessions_alone(client: TestClient, account: dict[str, Any]) -> None:
    other = login(client, account["user"]["email"]).json()
    assert logout(client, account["accessToken"], account["refreshToken"]).status_code == 204
    assert refresh(client, other["refreshToken"]).status_code == 200


def test_logout_with_another_users_refresh_token_leaves_it_working(client: TestClient, account: dict[str, Any]) -> None:
    victim = register(client).json()
    assert logout(client, account["accessToken"], victim["refreshToken"]).status_code == 204
    assert refresh(client, victim["refreshToken"]).status_code == 200


def test_logout_without_access_token_is_401(client: TestClient, account: dict[str, Any]) -> None:
    assert_unauthenticated(logout(client, None, account["refreshToken"]))
    assert refresh(client, account["refreshToken"]).status_code == 200


def test_logout_with_an_invalid_access_token_is_401(client: TestClient, account: dict[str, Any]) -> None:
    assert_unauthenticated(logout(client, account["refreshToken"], account["refreshToken"]))
    assert refresh(client, account["refreshToken"]).status_code == 200


def test_logout_with_an_unknown_or_spent_refresh_token_is_204(client: TestClient, account: dict[str, Any]) -> None:
    assert logout(client, account["accessToken"], "never-issued").status_code == 204
    rotated = refresh(client, account["refreshToken"]).json()
    assert logout(client, account["accessToken"], account["refreshToken"]).status_code == 204
    assert_unauthenticated(refresh(client, rotated["refreshToken"]))  # logging out a spent token still ends its session


def test_logout_twice_is_still_204(client: TestClient, account: dict[str, Any]) -> None:
    assert logout(client, account["accessToken"], account["refreshToken"]).status_code == 204
    assert logout(client, account["accessToken"], account["refreshToken"]).status_code == 204


@pytest.mark.parametrize("body", [{}, {"refreshToken": ""}, {"refreshToken": None}, {"refreshToken": "x", "all": True}])
def test_logout_body_is_validated(client: TestClient, account: dict[str, Any], body: dict[str, Any]) -> None:
    response = client.post("/auth/logout", json=body, headers=bearer(account["accessToken"]))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
