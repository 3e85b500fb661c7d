"""Helpers for the auth tests: request bodies, invitation items as the loans feature writes them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from app.db.dynamo import Dynamo
from app.db.keys import invitation_key
from tests.factories import unique_email

PASSWORD = "correct horse battery staple"


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"email": unique_email(), "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}
    body.update(overrides)
    return body


def register(client: TestClient, **overrides: Any) -> Response:
    return client.post("/auth/register", json=registration(**overrides))


def login(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    return client.post("/auth/login", json={"email": email, "password": password})


def without_request_id(response: Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body["error"].pop("requestId")
    return body


def invite(db: Dynamo, email: str, *, status: str = "invited", loan_status: str = "pending") -> str:
    """An invitation item exactly as the loans feature writes it (PK=LOAN#<id>, SK=INVITE#<email>)."""
    loan_id = str(uuid.uuid4())
    db.put(
        {
            **invitation_key(loan_id, email),
            "entity": "invitation",
            "loanId": loan_id,
            "email": email,
            "amount": 100,
            "status": status,
            "loanStatus": loan_status,
            "borrowerId": str(uuid.uuid4()),
            "borrowerName": "Grace Hopper",
            "invitedAt": "2026-01-01T00:00:00Z",
        }
    )
    return loan_id
