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

from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.keys import user_key
from app.main import create_app
from app.users import service as users_service
from app.users.repository import UserRecord
from tests.auth.conftest import assert_unauthenticated
from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, cancel, create_loan, decline, loan_body, post_json
from tests.support.clock import FakeClock
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


# Reads that do not load the user item: the token's account is proved once per token and process.
READS_WITHOUT_THE_USER = [
    "/loans/my-loans",
    "/loans/{loan}",
    "/loans/{loan}/events",
    "/loans/{loan}/schedule",
    "/loans/{loan}/payoff",
    "/loans/{loan}/repayments",
    "/loans/{loan}/statement",
    "/lender/loans",
    "/lender/pending",
]


@pytest.fixture
def active_loan(client: TestClient, people: dict[str, Any]) -> str:
    loan = create_loan(client, people["bea"], [(people["lou"], "100")])
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200
    return str(loan["loanId"])


@pytest.mark.parametrize("path", READS_WITHOUT_THE_USER)
@pytest.mark.parametrize("who", ["bea", "lou"])
def test_every_read_answers_401_for_a_token_whose_account_is_gone(
    settings: Settings, clock: FakeClock, db: Dynamo, people: dict[str, Any], active_loan: str, path: str, who: str
) -> None:
    # Given: the borrower's or the lender's valid token, first used in a process after the account went
    db.delete(user_key(people[who].user_id))
    fresh = TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)
    # Then: 401 "The account no longer exists", whichever read it is
    assert_gone(fresh.get(path.format(loan=active_loan), headers=people[who].headers))


def test_logout_by_a_deleted_account_is_401(settings: Settings, clock: FakeClock, db: Dynamo, people: dict[str, Any]) -> None:
    db.delete(user_key(people["bea"].user_id))
    fresh = TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)
    assert_gone(fresh.post("/auth/logout", json={"refreshToken": "x" * 43}, headers=people["bea"].headers))


def test_the_account_is_read_once_per_token_then_remembered(settings: Settings, clock: FakeClock, people: dict[str, Any]) -> None:
    # Given: a process that has not seen bea's token yet
    other = TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)
    headers = people["bea"].headers
    # When: she lists her open invitations twice there
    first, second = other.get("/lender/pending", headers=headers), other.get("/lender/pending", headers=headers)
    # Then: the first request also read her user item (one GetItem), the second made only the listing's Query
    assert (first.status_code, second.status_code) == (200, 200)
    assert (int(first.headers["x-db-requests"]), int(second.headers["x-db-requests"])) == (2, 1)


def test_a_refusal_is_not_remembered_and_another_process_checks_again(
    app: FastAPI, settings: Settings, clock: FakeClock, db: Dynamo, people: dict[str, Any]
) -> None:
    headers = people["bea"].headers
    fresh = TestClient(app, raise_server_exceptions=False)
    assert fresh.get("/lender/pending", headers=headers).status_code == 200  # seen by this process
    db.delete(user_key(people["bea"].user_id))
    other = TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)
    for _ in range(2):  # a refusal costs a read every time: nothing about a gone account is remembered
        response = other.get("/lender/pending", headers=headers)
        assert_gone(response)
        assert response.headers["x-db-requests"] == "1"


@pytest.mark.parametrize(("path", "who"), [("/loans/my-loans", "bea"), ("/lender/loans", "lou")])
def test_the_callers_own_lists_refuse_at_once_even_a_token_already_seen(
    client: TestClient, db: Dynamo, people: dict[str, Any], active_loan: str, path: str, who: str
) -> None:
    # Given: a token this app has already proved (it listed with it), then the account goes
    headers = people[who].headers
    assert client.get(path, headers=headers).status_code == 200
    db.delete(user_key(people[who].user_id))
    # Then: the list's own request (the Query of USER#<id>, the BatchGetItem of the page's loans) sees it gone
    response = client.get(path, headers=headers)
    assert_gone(response)
    assert response.headers["x-db-requests"] == {"bea": "1", "lou": "2"}[who]  # nothing added to prove it
