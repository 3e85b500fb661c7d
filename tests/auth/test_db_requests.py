"""The DynamoDB requests each auth and user endpoint makes, counted by the app (X-DB-Requests)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.auth.conftest import PASSWORD, registration
from tests.factories import a_user, latest_verification_token
from tests.loans.helpers import create_loan


def calls(response: object) -> int:
    return int(response.headers["x-db-requests"])  # type: ignore[attr-defined]


def test_auth_and_user_endpoints_stay_within_their_request_budget(app: FastAPI, client: TestClient) -> None:
    body = registration()
    registered = client.post("/auth/register", json=body)
    assert registered.status_code == 201 and calls(registered) == 2  # Query invitations + TransactWriteItems
    tokens = registered.json()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}

    login = client.post("/auth/login", json={"email": body["email"], "password": PASSWORD})
    # UpdateItem throttle + GetItem email claim + GetItem user + Query invitations + TransactWriteItems
    assert login.status_code == 200 and calls(login) == 5
    wrong = client.post("/auth/login", json={"email": body["email"], "password": PASSWORD + "x"})
    assert wrong.status_code == 401 and calls(wrong) == 2  # UpdateItem throttle + GetItem email claim

    refreshed = client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200 and calls(refreshed) == 2  # GetItem token + TransactWriteItems
    logout = client.post("/auth/logout", json={"refreshToken": refreshed.json()["refreshToken"]}, headers=headers)
    # the registration's token, first used here: GetItem user (its account, once per token: app/auth/accounts.py)
    # + GetItem token + UpdateItem family
    assert logout.status_code == 204 and calls(logout) == 3

    assert calls(client.get("/user/profile", headers=headers)) == 1  # GetItem
    assert calls(client.patch("/user/profile", json={"lastName": "B"}, headers=headers)) == 1  # UpdateItem
    assert calls(client.get("/user/dashboard", headers=headers)) == 1  # Query GSI1 user partition (no lender role)
    assert calls(client.get("/health")) == 1  # GetItem


def test_a_lenders_dashboard_costs_two_queries(app: FastAPI, client: TestClient) -> None:
    borrower, lender = a_user(app), a_user(app)
    create_loan(client, borrower, [(lender, "100.00")])
    login = client.post("/auth/login", json={"email": lender.email, "password": lender.password})
    headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    assert calls(client.get("/user/dashboard", headers=headers)) == 2  # + Query GSI1 invitations


def test_verification_endpoints_stay_within_their_request_budget(app: FastAPI, client: TestClient) -> None:
    user = a_user(app, verified=False)
    resent = client.post("/auth/resend-verification", headers=user.headers)
    assert resent.status_code == 202 and calls(resent) == 2  # GetItem user + TransactWriteItems (link + event)
    client.post("/auth/resend-verification", headers=user.headers)
    throttled = client.post("/auth/resend-verification", headers=user.headers)
    assert throttled.status_code == 429 and calls(throttled) == 1  # GetItem user
    gated = client.get("/lender/pending", headers=user.headers)
    assert gated.status_code == 403 and calls(gated) == 1  # the gate's GetItem user

    token = latest_verification_token(app, user.user_id)
    verified = client.post("/auth/verify-email", json={"token": token}, headers=user.headers)
    assert verified.status_code == 200 and calls(verified) == 2  # GetItem user + TransactWriteItems (verified + event)
    again = client.post("/auth/verify-email", json={"token": token}, headers=user.headers)
    assert again.status_code == 422 and calls(again) == 1  # GetItem user
    done = client.post("/auth/resend-verification", headers=user.headers)
    assert done.status_code == 409 and calls(done) == 1  # GetItem user
    # The token issued before verifying has no "ev" claim: the gate reads the user item once
    assert calls(client.get("/lender/pending", headers=user.headers)) == 2  # GetItem user + Query GSI1
