"""Test factories: people and their tokens.

`a_user` is the one way tests get an authenticated caller: it registers through the public API
(POST /auth/register), so every test's user is made exactly as a real one is. By default it then
verifies the email as a real user does: it opens the latest `verification_requested` event (what the
email carries), derives the link's token with `verification_token` (as the notifications code does),
POSTs /auth/verify-email, and signs in again, so its tokens carry the verified claim ("ev") and the
gated routes cost no extra read. `verified=False` stops after registering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.service import verification_token
from app.auth.verification import token_hash
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import EVENT, PARTITION_KEY, SORT_KEY, email_key, user_key, user_partition

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
    verified: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def verification_tokens(app: FastAPI, user_id: str) -> list[str]:
    """The token of every verification email the user was sent, oldest first (each `verification_requested` event's link)."""
    db: Dynamo = app.state.resources.db
    events = db.query_all(
        Expression(f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :event)", values={":pk": user_partition(user_id), ":event": EVENT}),
        consistent=True,
    )
    nonces = [str(event["nonce"]) for event in events if event.get("type") == "verification_requested"]
    return [verification_token(settings=app.state.settings, user_id=user_id, nonce=nonce) for nonce in nonces]


def latest_verification_token(app: FastAPI, user_id: str) -> str:
    """The token of the link that works now: the one whose hash the user item holds (the newest email's)."""
    user = app.state.resources.db.get(user_key(user_id)) or {}
    tokens = verification_tokens(app, user_id)
    live = [token for token in tokens if token_hash(token) == user.get("verificationHash")]
    assert live, f"no live verification link for user {user_id}"
    return live[0]


def verification_link_of(app: FastAPI, email: str) -> str | None:
    """The link of the live verification email sent to `email` (None without an account or a live link)."""
    claim = app.state.resources.db.get(email_key(email))
    if claim is None:
        return None
    user = app.state.resources.db.get(user_key(claim["userId"])) or {}
    if "verificationHash" not in user:
        return None
    return f"{app.state.settings.app_base_url}/verify-email?token={latest_verification_token(app, claim['userId'])}"


def verify(app: FastAPI, user: TestUser) -> None:
    """Verify the user's email through the API, then sign in again for tokens that say so."""
    client = TestClient(app)
    token = latest_verification_token(app, user.user_id)
    verified = client.post("/auth/verify-email", json={"token": token}, headers=user.headers)
    assert verified.status_code == 200, f"verify: {verified.status_code} {verified.text}"
    login = client.post("/auth/login", json={"email": user.email, "password": user.password})
    assert login.status_code == 200, f"verify: sign-in failed: {login.status_code} {login.text}"
    body = login.json()
    user.access_token, user.refresh_token, user.roles = body["accessToken"], body["refreshToken"], body["user"]["roles"]
    user.verified = True


def a_user(
    app: FastAPI, *, email: str | None = None, first_name: str = "Ada", last_name: str = "Lovelace", verified: bool = True
) -> TestUser:
    """A registered user with a valid access token (POST /auth/register on `app`), verified unless `verified=False`."""
    body = {
        "email": email or unique_email(),
        "password": DEFAULT_PASSWORD,
        "firstName": first_name,
        "lastName": last_name,
    }
    response = TestClient(app).post("/auth/register", json=body)
    assert response.status_code == 201, f"a_user: registration failed: {response.status_code} {response.text}"
    registered = response.json()
    profile = registered["user"]
    user = TestUser(
        user_id=profile["userId"],
        email=profile["email"],
        first_name=profile["firstName"],
        last_name=profile["lastName"],
        access_token=registered["accessToken"],
        refresh_token=registered["refreshToken"],
        roles=profile["roles"],
    )
    if verified:
        verify(app, user)
    seen_by(app, user)
    return user


def seen_by(app: FastAPI, user: TestUser) -> None:
    """Use the user's token once on `app`, as anyone who signed in has: the app has then proved the account exists
    and remembers it for that token (app/auth/accounts.py), so request budgets measured later are the steady ones."""
    response = TestClient(app).get("/lender/loans", headers=user.headers)
    assert response.status_code == 200, f"seen_by: {response.status_code} {response.text}"
