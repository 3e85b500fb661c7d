"""Every lifecycle email through the real pipeline: API -> stream (DynamoDB Local) -> worker -> SMTP server.

Each test asserts who received what (the contract's recipients, exactly once, with the figures), and
that running the consumer again, or replaying the whole stream, sends nothing new.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.streams import StreamReader
from tests.factories import a_user, unique_email
from tests.loans.helpers import ACCOUNT, ROUTING, accept, create_loan, post_json
from tests.notifications.conftest import APP_URL, Inbox, Pipeline, Received
from tests.support.clock import FakeClock

pytestmark = pytest.mark.dynamodb_local


def by_recipient(messages: list[Received]) -> dict[str, list[Received]]:
    found: dict[str, list[Received]] = {}
    for message in messages:
        for to in message.to:
            found.setdefault(to, []).append(message)
    return found


def one_each(messages: list[Received], recipients: set[str]) -> dict[str, Received]:
    """Exactly one message to each of `recipients` and to nobody else."""
    grouped = by_recipient(messages)
    assert set(grouped) == recipients, (sorted(grouped), sorted(recipients))
    assert all(len(found) == 1 for found in grouped.values()), {to: [m.subject for m in found] for to, found in grouped.items()}
    return {to: found[0] for to, found in grouped.items()}


def mentions(message: Received, *fragments: str) -> None:
    for fragment in fragments:
        assert fragment in message.text, (fragment, message.text)
        assert fragment in message.html, (fragment, message.html)


def test_the_whole_story_sends_each_email_once_to_the_right_people(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox, stream_reader: StreamReader, db: Dynamo
) -> None:
    # Given a borrower who registers: the verification email carries a link whose token verifies the account
    borrower = a_user(app, first_name="Bea", verified=False)
    assert pipeline.run()
    (verification,) = one_each(inbox.take(), {borrower.email}).values()
    match = re.search(re.escape(APP_URL) + r"/verify-email\?token=([A-Za-z0-9_\-]+)", verification.text)
    assert match and match.group(0) in verification.html
    verified = client.post("/auth/verify-email", json={"token": match.group(1)}, headers=borrower.headers)
    assert verified.status_code == 200 and verified.json()["emailVerified"] is True

    # When the borrower invites a registered lender and an address with no account yet
    lender, stranger = a_user(app, first_name="Lou"), unique_email("stranger")
    loan = create_loan(client, borrower, [(lender, "600.00"), (stranger, "400.00")], purpose="Bakery oven")
    assert pipeline.run()
    invitations = one_each(inbox.take(), {lender.email, stranger})
    mentions(invitations[lender.email], "$600.00", "$1,000.00", "Bakery oven", f"{APP_URL}/invitations/{loan['loanId']}")
    mentions(invitations[stranger], "$400.00", "Bea")

    # Then each acceptance tells the borrower; the last one activates the loan and tells everyone who is in it
    assert accept(client, lender, loan["loanId"]).status_code == 200
    assert pipeline.run()
    (accepted,) = one_each(inbox.take(), {borrower.email}).values()
    mentions(accepted, lender.email, "$600.00")

    second = a_user(app, email=stranger, first_name="Sam")
    assert accept(client, second, loan["loanId"]).status_code == 200
    assert pipeline.run()
    grouped = by_recipient(inbox.take())
    assert sorted(len(found) for found in grouped.values()) == [1, 1, 2] and set(grouped) == {borrower.email, lender.email, stranger}
    assert len(grouped[borrower.email]) == 2  # the acceptance and the activation
    mentions(grouped[lender.email][0], "$1,000.00", "$600.00")

    # And a repayment tells each lender their own share of it
    repaid = post_json(client, f"/loans/{loan['loanId']}/repayments", {"amount": Decimal("100.00")}, borrower.headers)
    assert repaid.status_code == 201, repaid.text
    shares = {d["email"]: d for d in repaid.json()["distributions"]}
    assert pipeline.run()
    received = one_each(inbox.take(), {lender.email, stranger})
    for email, message in received.items():
        share = shares[email]
        mentions(message, f"${Decimal(str(share['principal'])):,.2f}", f"${Decimal(str(share['interest'])):,.2f}")

    # Nothing is sent twice: running again, or replaying the whole stream from its start, sends nothing
    assert pipeline.run() and inbox.take() == []
    replay = Pipeline(
        reader=StreamReader(stream_reader.client, stream_reader.stream_arn), db=db, clock=pipeline.clock, settings=pipeline.settings
    )
    assert replay.run() and inbox.take() == []


def test_declined_and_cancelled_reach_the_borrower_and_the_accepted_lenders(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox
) -> None:
    borrower, yes, no = a_user(app, first_name="Bea"), a_user(app, first_name="Yan"), a_user(app, first_name="Nia")
    loan = create_loan(client, borrower, [(yes, "300.00"), (no, "200.00"), ("later@example.com", "500.00")])
    assert pipeline.run()
    one_each(inbox.take(), {yes.email, no.email, "later@example.com"})  # the invitations
    assert accept(client, yes, loan["loanId"]).status_code == 200
    assert client.put(f"/lender/decline/{loan['loanId']}", headers=no.headers).status_code == 200
    assert pipeline.run()
    grouped = by_recipient(inbox.take())
    assert len(grouped[borrower.email]) == 2 and set(grouped) == {borrower.email}  # accepted + declined, to the borrower only
    mentions(next(m for m in grouped[borrower.email] if no.email in m.text), no.email, "$200.00")

    assert client.post(f"/loans/{loan['loanId']}/cancel", headers=borrower.headers).status_code == 200
    assert pipeline.run()
    cancelled = one_each(inbox.take(), {borrower.email, yes.email})  # not the one who declined, not the open invitation
    mentions(cancelled[yes.email], "$300.00")


def test_expiry_by_the_job_tells_the_borrower_and_the_accepted_lender(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox, db: Dynamo, clock: FakeClock
) -> None:
    from app.jobs import run_job

    borrower, lender = a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lender, "100.00"), ("x@example.com", "100.00")], fundingDays=1)
    assert accept(client, lender, loan["loanId"]).status_code == 200
    clock.advance(days=2)
    run_job("expire-loans", db=db, clock=clock, settings=pipeline.settings, request_id="expiry-for-emails")
    pipeline.run()
    inbox_now = inbox.take()
    expired = [m for m in inbox_now if "expired" in m.subject.lower() or "expired" in m.text.lower()]
    assert {to for m in expired for to in m.to} == {borrower.email, lender.email}


def test_notifications_off_mutes_informational_emails_but_not_invitations(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox
) -> None:
    borrower, lender = a_user(app), a_user(app)
    for user in (borrower, lender):
        muted = client.patch("/user/profile", json={"emailNotifications": False}, headers=user.headers)
        assert muted.status_code == 200 and muted.json()["emailNotifications"] is False
    loan = create_loan(client, borrower, [(lender, "100.00")])
    assert pipeline.run()
    one_each(inbox.take(), {lender.email})  # the invitation still goes out
    assert accept(client, lender, loan["loanId"]).status_code == 200  # accepted + activated: informational, muted
    assert pipeline.run() and inbox.take() == []


def test_an_smtp_outage_leaves_the_record_for_retry_and_it_is_sent_once_when_the_server_is_back(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox, smtp: Any, db: Dynamo
) -> None:
    borrower = a_user(app)
    lenders = [a_user(app) for _ in range(3)]
    smtp.stop()
    try:
        create_loan(client, borrower, [(lender, "10.00") for lender in lenders])
        assert pipeline.run() is False  # the record failed: not consumed
        assert pipeline.run() is False  # and still there on the next round
    finally:
        smtp.start()
    assert pipeline.run()
    one_each(inbox.take(), {lender.email for lender in lenders})
    assert pipeline.run() and inbox.take() == []


def test_no_email_or_log_line_holds_bank_numbers_passwords_or_tokens(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    from app.observability import JsonFormatter

    caplog.set_level("DEBUG")
    borrower, lender = a_user(app), a_user(app)
    unverified = a_user(app, verified=False)
    loan = create_loan(client, borrower, [(lender, "50.00"), (unverified.email, "50.00")])
    assert accept(client, lender, loan["loanId"]).status_code == 200
    assert pipeline.run()
    messages = inbox.take()
    assert messages
    secrets = [ACCOUNT, ROUTING, lender.password, lender.access_token, lender.refresh_token or "", unverified.access_token]
    # our loggers (the test's SMTP server logs every line it receives at DEBUG: that is the mail, not our log)
    logs = "\n".join(JsonFormatter().format(record) for record in caplog.records if record.name.startswith("app"))
    for message in messages:
        bodies = message.subject + message.text + message.html
        for secret in secrets:
            assert secret not in bodies
    for secret in secrets:
        assert secret not in logs
    assert "verify-email?token=" not in logs  # the one token an email may carry never reaches a log line
