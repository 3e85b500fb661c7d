"""A valid token whose account is gone (or never existed) is answered 401, never a 500, and writes nothing."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.tokens import issue_access_token
from tests.loans.helpers import loan_body, post_json


def test_every_user_route_refuses_a_token_without_an_account(app: FastAPI, client: TestClient) -> None:
    token = issue_access_token(settings=app.state.settings, user_id=str(uuid.uuid4()), email="ghost@example.com", now=app.state.clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    for response in (
        client.get("/user/profile", headers=headers),
        client.patch("/user/profile", json={"firstName": "Ghost"}, headers=headers),
        client.get("/user/dashboard", headers=headers),
        post_json(client, "/loans", loan_body([("someone@example.com", "100.00")]), headers),
        client.get("/loans/my-loans", headers=headers),
        client.get("/lender/loans", headers=headers),
        client.get("/lender/pending", headers=headers),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_failed_create_gives_its_idempotency_key_back(app: FastAPI, client: TestClient) -> None:
    ghost = issue_access_token(settings=app.state.settings, user_id=str(uuid.uuid4()), email="ghost@example.com", now=app.state.clock.now())
    headers = {"Authorization": f"Bearer {ghost}", "Idempotency-Key": "retry-me"}
    body = loan_body([("someone@example.com", "100.00")])
    first = post_json(client, "/loans", body, headers)
    again = post_json(client, "/loans", body, headers)
    # The key was released after the 401: the retry runs again (401 again), not 409 IN_PROGRESS
    assert (first.status_code, again.status_code) == (401, 401), again.text
