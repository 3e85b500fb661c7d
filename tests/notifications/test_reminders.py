"""Payment reminders: the pure rules, then the job through the reminder index, the clock and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.keys import loan_key
from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT
from app.jobs import expiry, run_job
from app.notifications.reminders import DUE_SOON, MISSED, next_reminder, reminders_due
from app.servicing.schedule import Installment, Terms, original_schedule
from tests.factories import TestUser, a_user
from tests.jobs.helpers import headers_now
from tests.jobs.recording import Recorder
from tests.jobs.test_expiry import TABLE_ARN, jobs_role_dynamodb_grants
from tests.loans.helpers import accept, create_loan, post_json
from tests.notifications.conftest import Inbox, Pipeline
from tests.support.clock import FakeClock

REMINDERS = "send-payment-reminders"


def schedule(activation: date, months: int = 3) -> list[Installment]:
    terms = Terms.of(principal=Decimal("300.00"), annual_percent=Decimal("12"), term_months=months, activation=activation)
    return original_schedule(terms)


# --- the rules ---------------------------------------------------------------------------------------------


def test_due_soon_from_three_days_before_until_the_due_date_then_missed_from_the_day_after() -> None:
    installments = schedule(date(2026, 1, 10))  # due 2026-02-10, 03-10, 04-10
    first = installments[0]
    assert reminders_due(installments, date(2026, 2, 6)) == []
    assert [(r.kind, r.installment) for r in reminders_due(installments, date(2026, 2, 7))] == [(DUE_SOON, first)]
    assert [r.kind for r in reminders_due(installments, date(2026, 2, 9))] == [DUE_SOON]
    assert reminders_due(installments, date(2026, 2, 10)) == []  # due today: not yet missed, no longer "soon"
    assert [(r.kind, r.installment) for r in reminders_due(installments, date(2026, 2, 11))] == [(MISSED, first)]


def test_a_settled_installment_needs_no_reminder_and_the_next_date_skips_it() -> None:
    first, *rest = schedule(date(2026, 1, 10))
    paid = Installment(**{**first.__dict__, "paid_principal": first.principal, "paid_interest": first.interest})
    assert reminders_due([paid, *rest], date(2026, 2, 11)) == []
    assert next_reminder([paid, *rest], date(2026, 2, 11)) == date(2026, 3, 7)
    assert next_reminder([first, *rest], date(2026, 2, 7)) == date(2026, 2, 11)  # then the day after, if unpaid


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)), st.integers(min_value=0, max_value=500))
def test_next_reminder_is_after_today_and_no_reminder_day_is_skipped(activation: date, offset: int) -> None:
    installments = schedule(activation, months=6)
    today = activation + timedelta(days=offset)
    following = next_reminder(installments, today)
    if following is None:
        assert all(today >= i.due_date + timedelta(days=1) for i in installments)
        return
    assert following > today
    # every day strictly between today and the next date has nothing new to send
    for gap in range(1, (following - today).days):
        day = today + timedelta(days=gap)
        assert {(r.kind, r.installment.number) for r in reminders_due(installments, day)} <= {
            (r.kind, r.installment.number) for r in reminders_due(installments, today)
        }


# --- the job -----------------------------------------------------------------------------------------------


def reminder_keys_of(db: Dynamo, loan: dict[str, Any]) -> tuple[str | None, str | None]:
    item = db.get(loan_key(loan["loanId"], loan["borrowerId"]))
    assert item is not None
    return item.get(DEADLINE_PARTITION), item.get(DEADLINE_SORT)


def active_loan(app: FastAPI, client: TestClient, clock: FakeClock) -> tuple[dict[str, Any], TestUser]:
    """A 300.00 loan at 12% over 3 months, activated on the clock's day: due dates one, two and three months on."""
    borrower, lender = a_user(app, first_name="Bea"), a_user(app)
    loan = create_loan(client, borrower, [(lender, "300.00")], termMonths=3, interestRate=Decimal("12"))
    assert accept(client, lender, loan["loanId"]).status_code == 200
    return loan, borrower


def run_reminders(db: Dynamo, clock: FakeClock, settings: Settings) -> dict[str, object]:
    return run_job(REMINDERS, db=db, clock=clock, settings=settings, request_id=f"reminders-{clock.now().isoformat()}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))


def test_the_job_reminds_before_each_due_date_and_after_a_missed_one_once_each(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, settings: Settings, pipeline: Pipeline, inbox: Inbox
) -> None:
    loan, borrower = active_loan(app, client, clock)
    pipeline.run()
    inbox.take()  # the invitation, acceptance and activation emails
    assert reminder_keys_of(db, loan)[1] == f"2026-01-10#{loan['loanId']}"  # activation puts it in the index

    # On the activation day nothing is due: the loan's reminder date moves to 3 days before the first due date
    assert run_reminders(db, clock, settings)["sent"] == 0
    assert reminder_keys_of(db, loan)[1] == f"2026-02-07#{loan['loanId']}"

    # Three days before: "due soon", once, however often the job runs
    clock.current = datetime(2026, 2, 7, 0, 5, tzinfo=UTC)
    assert run_reminders(db, clock, settings)["sent"] == 1
    assert run_reminders(db, clock, settings)["sent"] == 0
    (soon,) = inbox.take()
    assert soon.to == [borrower.email] and "$102.01" in soon.text and "10 Feb 2026" in soon.text
    assert f"/loans/{loan['loanId']}" in soon.html

    # Not paid by the due date: "missed" the day after
    clock.current = datetime(2026, 2, 11, 0, 5, tzinfo=UTC)
    assert run_reminders(db, clock, settings)["sent"] == 1
    (missed,) = inbox.take()
    assert missed.to == [borrower.email] and "10 Feb 2026" in missed.text

    # Paid in full: the loan leaves the index, and nothing more is sent
    headers = headers_now(client, borrower)
    payoff = client.get(f"/loans/{loan['loanId']}/payoff", headers=headers).json()
    paid = post_json(client, f"/loans/{loan['loanId']}/repayments", {"amount": Decimal(str(payoff["amount"]))}, headers)
    assert paid.status_code == 201 and paid.json()["loanStatus"] == "repaid"
    assert reminder_keys_of(db, loan) == (None, None)
    clock.current = datetime(2026, 3, 7, 0, 5, tzinfo=UTC)
    assert run_reminders(db, clock, settings) == {"job": REMINDERS, "loans": 0, "sent": 0, "failed": 0}


def test_a_borrower_who_turned_notifications_off_gets_no_reminder_and_the_date_moves_on(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, settings: Settings, pipeline: Pipeline, inbox: Inbox
) -> None:
    loan, borrower = active_loan(app, client, clock)
    assert client.patch("/user/profile", json={"emailNotifications": False}, headers=borrower.headers).status_code == 200
    pipeline.run()
    inbox.take()
    run_reminders(db, clock, settings)
    clock.current = datetime(2026, 2, 7, 0, 5, tzinfo=UTC)
    assert run_reminders(db, clock, settings)["sent"] == 0 and inbox.take() == []
    assert reminder_keys_of(db, loan)[1] == f"2026-02-11#{loan['loanId']}"


def test_an_smtp_outage_keeps_the_reminder_for_the_next_run(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, settings: Settings, pipeline: Pipeline, inbox: Inbox, smtp: Any
) -> None:
    loan, _ = active_loan(app, client, clock)
    pipeline.run()
    inbox.take()
    run_reminders(db, clock, settings)
    clock.current = datetime(2026, 2, 7, 0, 5, tzinfo=UTC)
    smtp.stop()
    try:
        assert run_reminders(db, clock, settings)["failed"] == 1
    finally:
        smtp.start()
    assert reminder_keys_of(db, loan)[1] == f"2026-02-07#{loan['loanId']}"  # not moved: tried again
    assert run_reminders(db, clock, settings)["sent"] == 1
    assert len(inbox.take()) == 1


def test_the_jobs_role_grants_exactly_what_an_expiry_run_and_a_reminder_run_call(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, settings: Settings, pipeline: Pipeline, inbox: Inbox, smtp: Any
) -> None:
    # Given a loan due a reminder and a pending loan past its deadline
    active_loan(app, client, clock)
    borrower, lender = a_user(app), a_user(app)
    create_loan(client, borrower, [(lender, "100.00")], fundingDays=1)
    pipeline.run()
    run_reminders(db, clock, settings)
    clock.current = datetime(2026, 2, 7, 0, 5, tzinfo=UTC)

    # When both jobs run, recorded: a reminder run during an SMTP outage (its claim is released), then one that sends
    recorder = Recorder()
    with recorder.recording(db.client):
        assert expiry.run(db=db, clock=clock, settings=settings, request_id="grants-expiry").expired >= 1
        smtp.stop()
        try:
            assert run_reminders(db, clock, settings)["failed"] == 1
        finally:
            smtp.start()
        assert run_reminders(db, clock, settings)["sent"] == 1

    # Then the role grants those calls and, beyond them, only the ACH send job's BatchGetItem of the accounts
    # of due payments (tests/payments/test_rail_grants.py records the ACH jobs); no Scan: Query of the index
    ach_only = {("dynamodb:BatchGetItem", TABLE_ARN)}
    assert recorder.actions(TABLE_ARN) == jobs_role_dynamodb_grants() - ach_only
    operations = {name for name, _ in recorder.requests}
    assert "Scan" not in operations
    assert {params.get("IndexName") for name, params in recorder.requests if name == "Query"} >= {"GSI2"}
