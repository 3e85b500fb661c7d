"""The expiry job on loans made through the API: an expired loan reads `expired` and leaves the lender's pending list,
has exactly one `expired` event even when two runs race, and the jobs function's role (terraform/jobs.tf) grants
exactly the DynamoDB calls a run makes.

Every test here moves its clock by exactly one day and expires every one-day loan it made, so a test never finds
another test's loans due (they share the module's table)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import hcl2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hcl2.utils import SerializationOptions

from app.clock import iso
from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.keys import loan_key
from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT
from app.jobs import expiry
from app.loans.funding_service import ExpiryReport
from app.observability import JsonFormatter
from tests.factories import TestUser, a_user
from tests.jobs.helpers import headers_now, loan_due_in
from tests.jobs.recording import Recorder
from tests.support.clock import FakeClock

ROOT = Path(__file__).resolve().parents[2]
TABLE_ARN = "${aws_dynamodb_table.main.arn}"


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max")}


def event_types(client: TestClient, loan_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(f"/loans/{loan_id}/events", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def test_a_due_loan_becomes_expired_and_leaves_the_lenders_pending_list(
    client: TestClient, db: Dynamo, clock: FakeClock, people: dict[str, TestUser], caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    # Given a loan with one funding day and another with two, both open to Lou
    bea, lou, max_ = people["bea"], people["lou"], people["max"]
    due = loan_due_in(client, bea, [(lou, "600.00"), (max_, "400.00")], days=1)
    open_ = loan_due_in(client, bea, [(lou, "100.00")], days=2)
    pending = client.get("/lender/pending", headers=lou.headers).json()["items"]
    assert {item["loanId"] for item in pending} >= {due["loanId"], open_["loanId"]}

    # When its deadline comes (to the second) and the job runs
    clock.advance(days=1)
    assert iso(clock.now()) == due["fundingDeadline"]
    caplog.set_level(logging.INFO, logger="app.jobs")
    report = expiry.run(db=db, clock=clock, settings=settings, request_id="expiry-run-1")

    # Then it alone expired, is stored so and out of the deadline index, and the job said so in one JSON line
    assert report == ExpiryReport(due=1, expired=1)
    stored = db.get(loan_key(due["loanId"], bea.user_id))
    assert stored is not None and stored["status"] == "expired"
    assert DEADLINE_PARTITION not in stored and DEADLINE_SORT not in stored
    (line,) = [json.loads(JsonFormatter().format(r)) for r in caplog.records if getattr(r, "event", None) == "expiry_run"]
    assert line["logger"] == "app.jobs" and (line["due"], line["expired"], line["request_id"]) == (1, 1, "expiry-run-1")

    # ... the borrower reads it expired, with its `expired` event; Lou's pending list keeps only the open loan
    borrower = headers_now(client, bea)
    assert client.get(f"/loans/{due['loanId']}", headers=borrower).json()["status"] == "expired"
    assert client.get(f"/loans/{open_['loanId']}", headers=borrower).json()["status"] == "pending"
    (expired,) = [event for event in event_types(client, due["loanId"], borrower) if event["type"] == "expired"]
    assert expired["requestId"] == "expiry-run-1" and expired["at"] == iso(clock.now())
    pending = client.get("/lender/pending", headers=headers_now(client, lou)).json()["items"]
    assert due["loanId"] not in {item["loanId"] for item in pending}
    assert open_["loanId"] in {item["loanId"] for item in pending}

    # And a second run finds nothing to do
    assert expiry.run(db=db, clock=clock, settings=settings, request_id="expiry-run-2") == ExpiryReport(due=0, expired=0)


def test_a_loan_funded_before_its_deadline_is_never_touched(
    client: TestClient, db: Dynamo, clock: FakeClock, people: dict[str, TestUser], settings: Settings
) -> None:
    # Given a one-day loan fully funded (active) before its deadline
    bea, lou = people["bea"], people["lou"]
    loan = loan_due_in(client, bea, [(lou, "300.00")], days=1)
    accepted = client.put(f"/lender/accept/{loan['loanId']}", json={"achDetails": ACH}, headers=lou.headers)
    assert accepted.status_code == 200, accepted.text

    # When its deadline passes and the job runs, Then it was never due and stays active
    clock.advance(days=1)
    assert expiry.run(db=db, clock=clock, settings=settings, request_id="expiry-active") == ExpiryReport(due=0, expired=0)
    assert client.get(f"/loans/{loan['loanId']}", headers=headers_now(client, bea)).json()["status"] == "active"


def test_two_concurrent_runs_expire_each_loan_exactly_once(
    client: TestClient, db: Dynamo, clock: FakeClock, people: dict[str, TestUser], settings: Settings
) -> None:
    # Given twelve due loans
    bea, lou = people["bea"], people["lou"]
    loan_ids = [loan_due_in(client, bea, [(lou, "50.00")], days=1)["loanId"] for _ in range(12)]
    clock.advance(days=1)

    # When two runs start together, on real threads
    start = threading.Barrier(2)
    reports: list[ExpiryReport] = []
    failures: list[BaseException] = []

    def run(name: str) -> None:
        start.wait()
        try:
            reports.append(expiry.run(db=db, clock=clock, settings=settings, request_id=name))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(f"concurrent-run-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then every loan expired once between them, with one `expired` event each
    assert not failures, failures
    assert sum(report.expired for report in reports) == len(loan_ids)
    borrower = headers_now(client, bea)
    for loan_id in loan_ids:
        assert [event["type"] for event in event_types(client, loan_id, borrower)].count("expired") == 1
        assert client.get(f"/loans/{loan_id}", headers=borrower).json()["status"] == "expired"


def test_the_jobs_role_grants_every_call_a_run_makes(
    client: TestClient, db: Dynamo, clock: FakeClock, people: dict[str, TestUser], settings: Settings
) -> None:
    # Given a due loan with two lenders (a loan update, two invitation updates, an event put)
    loan_due_in(client, people["bea"], [(people["lou"], "10.00"), (people["max"], "20.00")], days=1)
    clock.advance(days=1)

    # When a run is recorded
    recorder = Recorder()
    with recorder.recording(db.client):
        assert expiry.run(db=db, clock=clock, settings=settings, request_id="expiry-grants").expired == 1

    # Then the jobs role grants each of its (action, resource) pairs (tests/notifications/test_reminders.py checks
    # that this run and a reminder run together need every grant: nothing more is granted)
    assert recorder.actions(TABLE_ARN) <= jobs_role_dynamodb_grants()


def jobs_role_dynamodb_grants() -> set[tuple[str, str]]:
    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    with (ROOT / "terraform" / "jobs.tf").open() as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=options)
    documents: dict[str, Any] = {}
    for entry in parsed["data"]:
        documents.update(entry.get("aws_iam_policy_document", {}))
    statements = documents["jobs"]["statement"]
    return {(a, r) for s in statements for a in s["actions"] if a.startswith("dynamodb:") for r in s["resources"]}


ACH = {"accountHolderName": "Lou Lender", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking"}
