"""Test factories: people and their tokens.

`a_user` is the one way tests get an authenticated caller. Until POST /auth/register exists it
writes the user and email-claim items directly (the shapes in docs/data-model.md); the auth issue
switches it to go through the public API with the same signature.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi import FastAPI

from app.auth.tokens import issue_access_token
from app.clock import iso
from app.db.dynamo import Dynamo, tx_put
from app.db.keys import email_key, user_key

DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass
class TestUser:
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
    """A registered user with a valid access token."""
    settings = app.state.settings
    clock = app.state.clock
    db: Dynamo = app.state.resources.db
    email = (email or unique_email()).strip().lower()
    user_id = str(uuid.uuid4())
    now = iso(clock.now())
    db.transact_write(
        [
            tx_put(
                {
                    **user_key(user_id),
                    "entity": "user",
                    "userId": user_id,
                    "email": email,
                    "firstName": first_name,
                    "lastName": last_name,
                    "roles": {"borrower"},
                    "createdAt": now,
                    "updatedAt": now,
                }
            ),
            tx_put({**email_key(email), "entity": "email", "email": email, "userId": user_id, "passwordHash": "!", "createdAt": now}),
        ]
    )
    token = issue_access_token(settings=settings, user_id=user_id, email=email, now=clock.now())
    return TestUser(user_id=user_id, email=email, first_name=first_name, last_name=last_name, access_token=token)
