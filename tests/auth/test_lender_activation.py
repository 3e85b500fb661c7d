"""The lender role follows invitations: at register, at login (persisted); pendingInvitations counts live ones."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.keys import user_key
from tests.auth.conftest import bearer, invite, login, register, verify
from tests.factories import unique_email


def profile_roles(client: TestClient, access_token: str) -> list[str]:
    response = client.get("/user/profile", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    roles: list[str] = response.json()["roles"]
    return roles


def test_user_who_registers_after_being_invited_is_a_lender(client: TestClient, db: Dynamo) -> None:
    email = unique_email()
    invite(db, email)
    registered = register(client, email=f" {email.upper()} ").json()
    assert registered["user"]["roles"] == ["borrower", "lender"]
    assert profile_roles(client, registered["accessToken"]) == ["borrower", "lender"]
    logged_in = login(client, email).json()
    assert logged_in["user"]["roles"] == ["borrower", "lender"] and logged_in["pendingInvitations"] == 1


def test_user_invited_after_registering_becomes_a_lender_at_login(client: TestClient, db: Dynamo) -> None:
    # Given a borrower
    email = unique_email()
    registered = register(client, email=email).json()
    assert registered["user"]["roles"] == ["borrower"]
    # When they are invited, their existing access token still says nothing new; login grants the role
    invite(db, email)
    assert profile_roles(client, registered["accessToken"]) == ["borrower"]
    response = login(client, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["roles"] == ["borrower", "lender"] and body["pendingInvitations"] == 1
    # Then the role is persisted: every later read shows it
    assert profile_roles(client, registered["accessToken"]) == ["borrower", "lender"]
    assert db.get(user_key(registered["user"]["userId"]))["roles"] == {"borrower", "lender"}  # type: ignore[index]
    assert login(client, email).json()["user"]["roles"] == ["borrower", "lender"]


def test_login_without_invitations_stays_borrower(client: TestClient, db: Dynamo) -> None:
    email = unique_email()
    register(client, email=email)
    invite(db, unique_email())
    body = login(client, email).json()
    assert body["user"]["roles"] == ["borrower"] and body["pendingInvitations"] == 0


def test_pending_invitations_count_only_invited_on_pending_loans(client: TestClient, db: Dynamo) -> None:
    email = unique_email()
    register(client, email=email)
    invite(db, email)  # invited on a pending loan: counts
    invite(db, email)  # a second one: counts
    invite(db, email, status="accepted")
    invite(db, email, status="declined")
    invite(db, email, loan_status="cancelled")
    invite(db, email, loan_status="active")
    body = login(client, email).json()
    assert body["pendingInvitations"] == 2
    assert body["user"]["roles"] == ["borrower", "lender"]


def test_only_past_invitations_still_make_a_lender(client: TestClient, db: Dynamo) -> None:
    email = unique_email()
    register(client, email=email)
    invite(db, email, loan_status="cancelled")
    body = login(client, email).json()
    assert body["user"]["roles"] == ["borrower", "lender"] and body["pendingInvitations"] == 0


def test_invitation_made_through_post_loans_activates_the_lender_at_login(app: FastAPI, client: TestClient) -> None:
    borrower = register(client).json()
    verify(app, client, borrower)  # creating a loan needs a verified email
    lender_email = unique_email("lender")
    lender = register(client, email=lender_email).json()
    assert lender["user"]["roles"] == ["borrower"]
    loan = {
        "amount": 1500,
        "purpose": "A new roof",
        "termMonths": 12,
        "interestRate": 5.5,
        "lenders": [{"email": lender_email.upper(), "amount": 1000}, {"email": unique_email("other"), "amount": 500}],
    }
    created = client.post("/loans", json=loan, headers=bearer(borrower["accessToken"]))
    assert created.status_code == 201, created.text
    body = login(client, lender_email).json()
    assert body["user"]["roles"] == ["borrower", "lender"] and body["pendingInvitations"] == 1
    assert profile_roles(client, lender["accessToken"]) == ["borrower", "lender"]
    # Once the borrower cancels, the invitation is no longer pending; the role stays
    loan_id = created.json()["loanId"]
    cancel = client.post(f"/loans/{loan_id}/cancel", headers=bearer(borrower["accessToken"]))
    assert cancel.status_code == 200, cancel.text
    after = login(client, lender_email).json()
    assert after["pendingInvitations"] == 0 and after["user"]["roles"] == ["borrower", "lender"]
    assert login(client, borrower["user"]["email"]).json()["user"]["roles"] == ["borrower"]
