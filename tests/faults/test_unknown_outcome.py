"""A transaction whose answer never comes: the outcome is found out before anything is answered.

"Committed, then every attempt timed out": the first TransactWriteItems is delivered to DynamoDB
Local for real (it commits) and its answer is lost; every later send (botocore's retries, and ours
with the same ClientRequestToken) times out before it leaves. The app must find the commit (the item
the transaction created is there, as written) and answer the success, once. "Nothing committed,
every attempt timed out": 503 SERVICE_UNAVAILABLE with Retry-After, and the table unchanged. "Lost,
then answered": the resend with the same token commits it, once.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.keys import email_key
from app.main import create_app
from tests.factories import DEFAULT_PASSWORD, a_user, latest_verification_token, unique_email
from tests.faults.injection import Injected, inject
from tests.loans.helpers import accept, create_loan, decline, exact, loan_body, post_json
from tests.support.clock import FakeClock
from tests.support.table import whole_table

pytestmark = pytest.mark.dynamodb_local


def deliver(request: Any) -> None:
    """Send the request to DynamoDB Local for real (it commits) and drop the answer."""
    sent = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method=request.method)  # noqa: S310
    with urllib.request.urlopen(sent, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200


def committed_then_every_attempt_timed_out() -> Callable[[Any], BaseException]:
    delivered: list[bool] = []

    def answer(request: Any) -> BaseException:
        if not delivered:
            deliver(request)
            delivered.append(True)
        return ReadTimeoutError(endpoint_url=request.url)

    return answer


def timed_out(request: Any) -> BaseException:
    return ReadTimeoutError(endpoint_url=request.url)


@dataclass
class Story:
    """One retryable write: what it needs first, the request, and what it leaves once applied."""

    arrange: Callable[[FastAPI, TestClient], dict[str, Any]]
    act: Callable[[TestClient, dict[str, Any]], Any]
    status: int
    applied: Callable[[TestClient, dict[str, Any]], bool]


def _people(app: FastAPI, client: TestClient, *, accepted: bool = False, active: bool = False) -> dict[str, Any]:
    bea, lou, max_ = (a_user(app, first_name=name) for name in ("Bea", "Lou", "Max"))
    loan = create_loan(client, bea, [(lou, "600.00"), (max_, "400.00")])
    if accepted or active:
        assert accept(client, lou, loan["loanId"]).status_code == 200
    if active:
        assert accept(client, max_, loan["loanId"]).status_code == 200
    return {"bea": bea, "lou": lou, "max": max_, "loan": loan["loanId"]}


def _loan(client: TestClient, given: dict[str, Any]) -> Any:
    return exact(client.get(f"/loans/{given['loan']}", headers=given["bea"].headers))


def _participant(client: TestClient, given: dict[str, Any], who: str) -> str:
    return next(p["status"] for p in _loan(client, given)["lenders"] if p["email"] == given[who].email)


def _registered(client: TestClient, given: dict[str, Any]) -> bool:
    return client.post("/auth/login", json={"email": given["email"], "password": DEFAULT_PASSWORD}).status_code == 200


def _my_loans(client: TestClient, given: dict[str, Any]) -> list[Any]:
    items: list[Any] = client.get("/loans/my-loans", headers=given["bea"].headers).json()["items"]
    return items


def _repayments(client: TestClient, given: dict[str, Any]) -> list[Any]:
    items: list[Any] = client.get(f"/loans/{given['loan']}/repayments", headers=given["bea"].headers).json()["items"]
    return items


def _unverified(app: FastAPI, client: TestClient) -> dict[str, Any]:
    user = a_user(app, verified=False)
    return {"user": user, "token": latest_verification_token(app, user.user_id)}


def _new_borrower(app: FastAPI, client: TestClient) -> dict[str, Any]:
    return {"bea": a_user(app), "lenders": [(unique_email("lou"), "600.00"), (unique_email("max"), "400.00")]}


STORIES = {
    "register": Story(
        arrange=lambda app, client: {"email": unique_email("reg")},
        act=lambda client, g: client.post(
            "/auth/register", json={"email": g["email"], "password": DEFAULT_PASSWORD, "firstName": "Reg", "lastName": "Istered"}
        ),
        status=201,
        applied=_registered,
    ),
    "verify": Story(
        arrange=_unverified,
        act=lambda client, g: client.post("/auth/verify-email", json={"token": g["token"]}, headers=g["user"].headers),
        status=200,
        applied=lambda client, g: client.get("/user/profile", headers=g["user"].headers).json()["emailVerified"] is True,
    ),
    "create": Story(
        arrange=_new_borrower,
        act=lambda client, g: post_json(client, "/loans", loan_body(g["lenders"]), g["bea"].headers),
        status=201,
        applied=lambda client, g: len(_my_loans(client, g)) == 1,
    ),
    "accept": Story(
        arrange=_people,
        act=lambda client, g: accept(client, g["lou"], g["loan"]),
        status=200,
        applied=lambda client, g: _loan(client, g)["fundedAmount"] == Decimal("600.00"),
    ),
    "decline": Story(
        arrange=_people,
        act=lambda client, g: decline(client, g["lou"], g["loan"]),
        status=200,
        applied=lambda client, g: _participant(client, g, "lou") == "declined",
    ),
    "cancel": Story(
        arrange=_people,
        act=lambda client, g: client.post(f"/loans/{g['loan']}/cancel", headers=g["bea"].headers),
        status=200,
        applied=lambda client, g: _loan(client, g)["status"] == "cancelled",
    ),
    "close funding": Story(
        arrange=lambda app, client: _people(app, client, accepted=True),
        act=lambda client, g: client.post(f"/loans/{g['loan']}/close-funding", headers=g["bea"].headers),
        status=200,
        applied=lambda client, g: _loan(client, g)["status"] == "active",
    ),
    "repay": Story(
        arrange=lambda app, client: _people(app, client, active=True),
        act=lambda client, g: post_json(client, f"/loans/{g['loan']}/repayments", {"amount": Decimal("100.00")}, g["bea"].headers),
        status=201,
        applied=lambda client, g: len(_repayments(client, g)) == 1,
    ),
}


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    """botocore's own retries on (3 attempts, as in production); unknown outcomes asked after for 2 s at most."""
    return create_app(settings.model_copy(update={"aws_max_attempts": 3, "write_settle_seconds": 2}), clock=clock)


def _run(app: FastAPI, story: Story, answer: Any, *, times: int | None = None) -> tuple[Any, dict[str, Any], Injected, TestClient]:
    client = TestClient(app, raise_server_exceptions=False)
    given = story.arrange(app, client)
    with inject(app.state.resources.db.client, "TransactWriteItems", answer, times=times) as seen:
        answered = story.act(client, given)
    return answered, given, seen, client


@pytest.mark.parametrize("name", list(STORIES))
def test_a_write_committed_whose_every_answer_was_lost_is_answered_as_the_success_it_was(app: FastAPI, name: str) -> None:
    story = STORIES[name]
    answered, given, seen, client = _run(app, story, committed_then_every_attempt_timed_out())
    assert answered.status_code == story.status, answered.text
    assert seen.calls >= 3  # the delivered one and botocore's retries, all without an answer
    assert story.applied(client, given)


@pytest.mark.parametrize("name", list(STORIES))
def test_a_write_that_never_reached_the_table_is_503_and_changes_nothing(app: FastAPI, name: str) -> None:
    story = STORIES[name]
    client = TestClient(app, raise_server_exceptions=False)
    given = story.arrange(app, client)
    before = whole_table(app.state.resources.db)
    with inject(app.state.resources.db.client, "TransactWriteItems", timed_out):
        answered = story.act(client, given)
    assert answered.status_code == 503, answered.text
    assert answered.headers["Retry-After"] == "1" and answered.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert whole_table(app.state.resources.db) == before
    assert not story.applied(client, given)


@pytest.mark.parametrize("name", ["create", "accept", "repay"])
def test_a_write_whose_sends_were_all_lost_is_committed_once_by_asking_again_with_its_token(app: FastAPI, name: str) -> None:
    # botocore's three attempts time out before leaving; our resend with the same ClientRequestToken goes through
    story = STORIES[name]
    answered, given, seen, client = _run(app, story, timed_out, times=3)
    assert answered.status_code == story.status, answered.text
    assert seen.calls == 4
    assert story.applied(client, given)


def test_a_resend_of_a_committed_transaction_with_its_token_is_answered_as_a_success_and_applied_once(app: FastAPI) -> None:
    # the first send commits and its answer is lost; botocore's retries time out; the GetItems of the
    # created item time out too, so only the resend with the same token (a DynamoDB idempotent replay) tells
    story = STORIES["repay"]
    client = TestClient(app, raise_server_exceptions=False)
    given = story.arrange(app, client)
    db = app.state.resources.db
    committed = committed_then_every_attempt_timed_out()
    sent: list[bool] = []

    def transaction(request: Any) -> BaseException | None:
        sent.append(True)
        return committed(request) if len(sent) <= 3 else None  # the 4th send (ours, same token) is answered

    def witness_read(request: Any) -> BaseException | None:
        return timed_out(request) if sent else None  # reads before the write go through

    with inject(db.client, "TransactWriteItems", transaction), inject(db.client, "GetItem", witness_read):
        answered = story.act(client, given)
    assert answered.status_code == 201, answered.text
    assert len(sent) == 4
    assert len(_repayments(client, given)) == 1
    assert _loan(client, given)["outstandingPrincipal"] < Decimal("1000.00")


def test_the_user_sees_one_user_item_after_a_lost_registration(app: FastAPI) -> None:
    story = STORIES["register"]
    answered, given, _, _ = _run(app, story, committed_then_every_attempt_timed_out())
    assert answered.status_code == 201
    claim = email_key(given["email"])
    claims = [item for item in whole_table(app.state.resources.db) if (item["PK"]["S"], item["SK"]["S"]) == (claim["PK"], claim["SK"])]
    assert len(claims) == 1
