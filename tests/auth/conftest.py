"""Helpers for the auth tests: request bodies, invitation items as the loans feature writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from app.clock import iso
from app.db.dynamo import Dynamo
from app.db.keys import invitation_key
from tests.factories import latest_verification_token, unique_email
from tests.support.table import whole_table

PASSWORD = "correct horse battery staple"


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"email": unique_email(), "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}
    body.update(overrides)
    return body


def register(client: TestClient, **overrides: Any) -> Response:
    response: Response = client.post("/auth/register", json=registration(**overrides))
    return response


def login(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    response: Response = client.post("/auth/login", json={"email": email, "password": password})
    return response


def verify(app: FastAPI, client: TestClient, registered: dict[str, Any]) -> Response:
    """POST /auth/verify-email with the token of the registered user's live link (their registration's access token)."""
    token = latest_verification_token(app, registered["user"]["userId"])
    response: Response = client.post("/auth/verify-email", json={"token": token}, headers=bearer(registered["accessToken"]))
    assert response.status_code == 200, response.text
    return response


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
            "invitedAt": iso(datetime.now(UTC)),
            "fundingDeadline": iso(datetime.now(UTC) + timedelta(days=14)),
        }
    )
    return loan_id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client: TestClient, refresh_token: str) -> Response:
    response: Response = client.post("/auth/refresh", json={"refreshToken": refresh_token})
    return response


def assert_unauthenticated(response: Response) -> None:
    """401 UNAUTHENTICATED in the envelope, with the Bearer challenge."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "UNAUTHENTICATED" and error["details"] == [] and error["requestId"]


def table_dump(db: Dynamo) -> str:
    """Every item of the test table as text (to prove what is NOT stored)."""
    return str(whole_table(db))
