"""The verified-email gate (VerifiedUser): creating a loan, listing, accepting and declining invitations answer
403 EMAIL_NOT_VERIFIED for an unverified caller while EMAIL_VERIFICATION=required; a verified invited lender acts
at once (even with the token they held before verifying); the access token's "ev" claim spares the gate its read."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import user_key
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import TestUser, a_user, verify
from tests.loans.helpers import accept, ach, create_loan, decline, loan_body, post_json
from tests.support.clock import FakeClock
from tests.support.table import whole_table


def gated_calls(client: TestClient, user: TestUser, loan_id: str) -> dict[str, Response]:
    return {
        "createLoan": post_json(client, "/loans", loan_body([("someone@example.com", "10.00")]), user.headers),
        "listPendingInvitations": client.get("/lender/pending", headers=user.headers),
        "acceptInvitation": accept(client, user, loan_id),
        "declineInvitation": decline(client, user, loan_id),
    }


def claims(access_token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(access_token, options={"verify_signature": False})
    return decoded


def test_an_unverified_invited_lender_can_neither_see_nor_answer_the_invitation(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    # Given a loan inviting an address whose account has not proved it owns it
    borrower, lender = a_user(app), a_user(app, verified=False)
    loan_id = create_loan(client, borrower, [(lender, "100.00")])["loanId"]
    before = whole_table(db)

    # When that account tries every gated operation
    answers = gated_calls(client, lender, loan_id)

    # Then each answers 403 EMAIL_NOT_VERIFIED in the envelope, reveals nothing, and nothing is written
    for operation, response in answers.items():
        assert response.status_code == 403, f"{operation}: {response.text}"
        error = response.json()["error"]
        assert error["code"] == "EMAIL_NOT_VERIFIED" and error["requestId"] and error["details"] == [], operation
        assert loan_id not in response.text and "Bakery" not in response.text
    assert whole_table(db) == before
    # nor read the loan by its id (it is not theirs to see until they prove the invited email is): 404 as for a stranger
    seen = client.get(f"/loans/{loan_id}", headers=lender.headers)
    assert seen.status_code == 404 and "Bakery" not in seen.text


def test_once_verified_the_invited_lender_accepts_with_the_token_they_already_hold(app: FastAPI, client: TestClient) -> None:
    borrower, lender = a_user(app), a_user(app, verified=False)
    loan_id = create_loan(client, borrower, [(lender, "100.00")])["loanId"]
    registration_token = lender.access_token
    verify(app, lender)  # verifies, then signs in again (a token with the "ev" claim)
    lender.access_token = registration_token  # but keep using the token issued before verifying

    assert client.get(f"/loans/{loan_id}", headers=lender.headers).status_code == 200
    pending = client.get("/lender/pending", headers=lender.headers)
    assert pending.status_code == 200 and [item["loanId"] for item in pending.json()["items"]] == [loan_id]
    assert int(pending.headers["x-db-requests"]) == 3  # the gate's GetItem of the user item + Query + BatchGetItem
    accepted = accept(client, lender, loan_id)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["loanStatus"] == "active"


def test_a_token_issued_to_a_verified_user_says_so_and_passes_without_a_read(app: FastAPI, client: TestClient) -> None:
    user = a_user(app)
    assert claims(user.access_token)["ev"] is True
    assert calls(client.get("/lender/pending", headers=user.headers)) == 1  # the Query only
    refreshed = client.post("/auth/refresh", json={"refreshToken": user.refresh_token}).json()
    assert claims(refreshed["accessToken"])["ev"] is True  # the session remembers it: refresh reads no user item
    headers = {"Authorization": f"Bearer {refreshed['accessToken']}"}
    # a new token: its first use proves its account once (GetItem user, app/auth/accounts.py), then the Query only
    assert calls(client.get("/lender/pending", headers=headers)) == 2
    assert calls(client.get("/lender/pending", headers=headers)) == 1


def test_an_unverified_users_token_has_no_claim_and_costs_one_read(app: FastAPI, client: TestClient) -> None:
    user = a_user(app, verified=False)
    assert "ev" not in claims(user.access_token)
    refused = client.get("/lender/pending", headers=user.headers)
    assert refused.status_code == 403 and calls(refused) == 1  # the gate's GetItem, nothing else


def test_a_gate_read_of_a_vanished_account_is_401(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    user = a_user(app, verified=False)
    db.delete(user_key(user.user_id))
    response = client.get("/lender/pending", headers=user.headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_legacy_account_must_verify_before_acting(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    # Given an account written before verification existed (no emailVerified, no link, no send times)
    user = a_user(app, verified=False)
    db.update(
        user_key(user.user_id),
        Expression("REMOVE emailVerified, emailNotifications, verificationHash, verificationExpiresAt, verificationSentAt"),
    )
    # Then it is gated, and a resend gives it a working link
    assert client.get("/lender/pending", headers=user.headers).json()["error"]["code"] == "EMAIL_NOT_VERIFIED"
    assert client.post("/auth/resend-verification", headers=user.headers).status_code == 202
    verify(app, user)
    assert client.get("/lender/pending", headers=user.headers).status_code == 200


@pytest.fixture
def unverified_app(endpoint_url: str, table_name: str, clock: FakeClock) -> Iterator[FastAPI]:
    settings: Settings = make_settings(endpoint_url, table_name, email_verification="off")
    yield create_app(settings, clock=clock)


def test_with_verification_off_the_gates_let_unverified_users_through(unverified_app: FastAPI) -> None:
    client = TestClient(unverified_app)
    borrower, lender = a_user(unverified_app, verified=False), a_user(unverified_app, verified=False)
    loan_id = create_loan(client, borrower, [(lender, "100.00")])["loanId"]
    assert client.get("/lender/pending", headers=lender.headers).status_code == 200
    assert client.put(f"/lender/accept/{loan_id}", json=ach(), headers=lender.headers).status_code == 200
    assert client.get("/user/profile", headers=lender.headers).json()["emailVerified"] is False  # off skips the gate only


def calls(response: Response) -> int:
    return int(response.headers["x-db-requests"])
