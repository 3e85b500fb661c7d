"""Helpers for the job tests: loans whose funding deadline comes, tokens after the clock moved, loans by the thousand."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.clock import iso, uuid7
from app.db.expressions import serialize_item
from app.loans.items import NewLoan, new_loan_items
from tests.factories import TestUser, a_user
from tests.loans.helpers import create_loan
from tests.support.clock import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def loan_due_in(client: TestClient, borrower: TestUser, lenders: Sequence[tuple[TestUser | str, str]], *, days: int = 1) -> dict[str, Any]:
    """A pending loan created now through POST /loans, its deadline `days` days away."""
    return create_loan(client, borrower, lenders, fundingDays=days)


def loan_already_due(app: FastAPI, client: TestClient, clock: FakeClock) -> tuple[dict[str, Any], TestUser, TestUser]:
    """(loan, borrower, lender): registered and created through the API two days ago on the test's clock, with one
    funding day, so the loan is due on the test's clock and in real time (for a worker or Lambda in another process)."""
    clock.advance(days=-2)
    try:
        borrower, lender = a_user(app, first_name="Bea"), a_user(app, first_name="Lou")
        return loan_due_in(client, borrower, [(lender, "250.00")], days=1), borrower, lender
    finally:
        clock.advance(days=2)


def headers_now(client: TestClient, user: TestUser) -> dict[str, str]:
    """A fresh access token at the clock's current time (tokens from before a jump of days have expired)."""
    response = client.post("/auth/login", json={"email": user.email, "password": user.password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


def seed_loans(ddb_client: Any, table_name: str, deadlines: Sequence[str], *, clock: FakeClock) -> list[str]:
    """One pending loan (and its one invitation) per deadline, built by the app's own item builder and written
    with BatchWriteItem (fast, and outside anything measured); returns the loan ids in `deadlines` order."""
    loan_ids, requests = [], []
    for deadline in deadlines:
        loan_id = uuid7(clock.now())
        loan_item, invitations = new_loan_items(
            NewLoan(
                loan_id=loan_id,
                borrower_id=str(uuid7()),
                borrower_name="Bulk Borrower",
                amount=Decimal("100.00"),
                purpose="seeded for the expiry job",
                term_months=12,
                interest_rate=Decimal("5.25"),
                lenders=[(f"lender-{loan_id[-12:]}@example.com", Decimal("100.00"))],
                at=iso(clock.now() - timedelta(days=30)),
                funding_deadline=deadline,
            )
        )
        loan_ids.append(loan_id)
        requests.extend({"PutRequest": {"Item": serialize_item(item)}} for item in (loan_item, *invitations))
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table_name: requests[start : start + 25]}
        while pending:
            pending = ddb_client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return loan_ids


def subprocess_env(endpoint_url: str, table_name: str, **extra: str) -> dict[str, str]:
    """The environment of a worker or Lambda process on the test's DynamoDB and table (no .env file is read: cwd is tmp)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WORKER_", "JWT_", "ACH_"))}
    env.update(
        ENVIRONMENT="test",
        DYNAMODB_ENDPOINT_URL=endpoint_url,
        TABLE_NAME=table_name,
        JWT_SECRET="job-tests-" + "x" * 40,
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


PYTHON = sys.executable
