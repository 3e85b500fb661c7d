"""A valid token whose account is gone changes nothing: every write proves the user item exists inside its transaction.

The user item is deleted straight from the table (as an erasure would); the token stays valid. Each write answers
401 UNAUTHENTICATED "The account no longer exists" and the table is exactly as it was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.keys import user_key
from app.users import service as users_service
from app.users.repository import UserRecord
from tests.auth.conftest import assert_unauthenticated
from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, cancel, create_loan, decline, loan_body, post_json
from tests.support.table import whole_table

GONE = "The account no longer exists"


def assert_gone(response: Any) -> None:
    assert_unauthenticated(response)
    assert response.json()["error"]["message"] == GONE


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max")}


def test_decline_by_a_deleted_account_is_401_and_writes_nothing(
    app: FastAPI, client: TestClient, db: Dynamo, people: dict[str, Any]
) -> None:
    loan = create_loan(client, people["bea"], [(people["lou"], "100")])
    db.delete(user_key(people["lou"].user_id))
    before = whole_table(app.state.resources.db)
    assert_gone(decline(client, people["lou"], loan["loanId"]))
    assert whole_table(app.state.resources.db) == before


def test_cancel_by_a_deleted_account_is_401_and_writes_nothing(
    app: FastAPI, client: TestClient, db: Dynamo, people: dict[str, Any]
) -> None:
    loan = create_loan(client, people["bea"], [(people["lou"], "100")])
    db.delete(user_key(people["bea"].user_id))
    before = whole_table(app.state.resources.db)
    assert_gone(cancel(client, people["bea"], loan["loanId"]))
    assert whole_table(app.state.resources.db) == before


def test_close_funding_by_a_deleted_account_is_401_and_writes_nothing(
    app: FastAPI, client: TestClient, db: Dynamo, people: dict[str, Any]
) -> None:
    loan = create_loan(client, people["bea"], [(people["lou"], "60"), (people["max"], "40")])
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    db.delete(user_key(people["bea"].user_id))
    before = whole_table(app.state.resources.db)
    assert_gone(client.post(f"/loans/{loan['loanId']}/close-funding", headers=people["bea"].headers))
    assert whole_table(app.state.resources.db) == before


def test_repayment_by_a_deleted_account_is_401_and_writes_nothing(
    app: FastAPI, client: TestClient, db: Dynamo, people: dict[str, Any]
) -> None:
    loan = create_loan(client, people["bea"], [(people["lou"], "100")])
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    db.delete(user_key(people["bea"].user_id))
    before = whole_table(app.state.resources.db)
    assert_gone(post_json(client, f"/loans/{loan['loanId']}/repayments", {"amount": Decimal("10")}, people["bea"].headers))
    assert whole_table(app.state.resources.db) == before


def test_create_loan_by_a_deleted_account_is_401_and_writes_nothing(
    app: FastAPI, client: TestClient, db: Dynamo, people: dict[str, Any]
) -> None:
    db.delete(user_key(people["bea"].user_id))
    before = whole_table(app.state.resources.db)
    assert_gone(post_json(client, "/loans", loan_body([(people["lou"], "100")]), people["bea"].headers))
    assert whole_table(app.state.resources.db) == before


def test_create_loan_when_the_account_goes_between_read_and_write_is_401(
    app: FastAPI, client: TestClient, db: Dynamo, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GetItem (for the borrower's name) saw the user; the deletion lands before the transaction commits."""
    borrower = people["bea"]
    read = users_service.get_user

    def read_then_deleted(*, db: Dynamo, user_id: str) -> UserRecord | None:
        user = read(db=db, user_id=user_id)
        db.delete(user_key(user_id))
        return user

    monkeypatch.setattr(users_service, "get_user", read_then_deleted)
    response = post_json(client, "/loans", loan_body([(people["lou"], "100")]), borrower.headers)
    monkeypatch.undo()
    assert_gone(response)
    assert not [item for item in whole_table(app.state.resources.db) if item.get("borrowerId", {}).get("S") == borrower.user_id]


def test_reads_that_load_the_user_answer_401(client: TestClient, db: Dynamo, people: dict[str, Any]) -> None:
    db.delete(user_key(people["bea"].user_id))
    assert_gone(client.get("/user/profile", headers=people["bea"].headers))
    assert_gone(client.get("/user/dashboard", headers=people["bea"].headers))
