"""No relay for spam or phishing, and figures as of the event, through the real pipeline (API -> stream -> SMTP).

- an invitation goes out only while its loan is still pending when the record is handled;
- invisible and bidi control characters never reach a subject or a body; links in user text are defanged
  and the only <a> of an email is its own link;
- each acceptance's email shows the funding as of that acceptance, even when a later one committed first;
  an `accepted` event written before events carried figures falls back to the loan as it stands.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.clock import iso, uuid7
from app.db.dynamo import Dynamo
from app.db.keys import event_key
from tests.factories import a_user, unique_email
from tests.loans.helpers import accept, cancel, create_loan
from tests.notifications.conftest import APP_URL, Inbox, Pipeline, Received

pytestmark = pytest.mark.dynamodb_local

INVISIBLE = "\u200b\u200c\u200d\ufeff\u2060\u2061\u2062\u2063\u2064\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href")


def anchors(html: str) -> list[str | None]:
    parser = _Anchors()
    parser.feed(html)
    return parser.hrefs


def to(messages: list[Received], email: str) -> list[Received]:
    return [message for message in messages if email in message.to]


def test_a_loan_cancelled_before_its_invitations_go_out_invites_nobody(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox
) -> None:
    borrower = a_user(app, first_name="Bea")
    invitees = [unique_email("invitee") for _ in range(3)]
    loan = create_loan(client, borrower, [(email, "100.00") for email in invitees])
    assert cancel(client, borrower, loan["loanId"]).status_code == 200
    assert pipeline.run()
    sent = inbox.take()
    assert all(not to(sent, email) for email in invitees), [m.subject for m in sent]
    assert [m.subject for m in to(sent, borrower.email)] == ["Your loan request of $300.00 is cancelled"]


def test_a_pending_loan_still_invites(app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox) -> None:
    borrower = a_user(app, first_name="Bea")
    invitee = unique_email("invitee")
    create_loan(client, borrower, [(invitee, "100.00")])
    assert pipeline.run()
    assert len(to(inbox.take(), invitee)) == 1


def test_invisible_characters_and_links_in_user_text_never_reach_an_email_as_such(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox
) -> None:
    borrower = a_user(app, first_name=f"Pay{INVISIBLE}Pal", last_name="Support\u202eevil")
    invitee = unique_email("invitee")
    purpose = f"Verify at https://paypa{INVISIBLE}l.example/login or www.evil.example, write to help@evil.example"
    create_loan(client, borrower, [(invitee, "100.00")], purpose=purpose)
    assert pipeline.run()
    (invitation,) = to(inbox.take(), invitee)
    for part in (invitation.subject, invitation.text, invitation.html):
        assert not [char for char in part if unicodedata.category(char) == "Cf"], ascii(part)
    assert invitation.subject.startswith("PayPal Supportevil invited you")
    defanged = "Verify at hxxps://paypal[.]example/login or www[.]evil[.]example, write to help@evil[.]example"
    assert defanged in invitation.text
    assert defanged in invitation.html
    assert not re.search(r"https?://(?!app\.example\.com)", invitation.text + invitation.html)
    assert all(href is not None and href.startswith(f"{APP_URL}/invitations/") for href in anchors(invitation.html))


def accepted_emails(messages: list[Received], borrower_email: str) -> list[Received]:
    return [message for message in to(messages, borrower_email) if " accepted: " in message.subject]


def test_two_acceptances_before_the_stream_runs_each_tell_their_own_figures(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox
) -> None:
    borrower, lou, max_ = a_user(app, first_name="Bea"), a_user(app, first_name="Lou"), a_user(app, first_name="Max")
    loan = create_loan(client, borrower, [(lou, "600.00"), (max_, "400.00")])
    assert pipeline.run()
    inbox.take()
    assert accept(client, lou, loan["loanId"]).status_code == 200
    assert accept(client, max_, loan["loanId"]).status_code == 200  # committed before either email goes out
    assert pipeline.run()
    emails = {message.subject: message for message in accepted_emails(inbox.take(), borrower.email)}
    first = emails[f"{lou.email} accepted: $600.00 of $1,000.00 funded"]
    second = emails[f"{max_.email} accepted: $1,000.00 of $1,000.00 funded"]
    assert len(emails) == 2
    assert "Still to go: $400.00" in first.text and "completes" not in first.text
    assert "That completes your loan" in second.text


def test_an_acceptance_event_without_figures_falls_back_to_the_loan_as_it_stands(
    app: FastAPI, client: TestClient, pipeline: Pipeline, inbox: Inbox, db: Dynamo
) -> None:
    """Events written before they carried figures (no fundedAmount): the email tells the loan's funding when it is sent."""
    borrower, lou, max_ = a_user(app, first_name="Bea"), a_user(app, first_name="Lou"), a_user(app, first_name="Max")
    loan = create_loan(client, borrower, [(lou, "600.00"), (max_, "400.00")])
    assert accept(client, lou, loan["loanId"]).status_code == 200
    assert pipeline.run()
    inbox.take()
    event_id = uuid7()
    legacy = {"entity": "event", "eventId": event_id, "loanId": loan["loanId"], "type": "accepted", "amount": 600, "lenderEmail": lou.email}
    db.put(
        {**event_key(loan["loanId"], event_id), **legacy, "actorId": lou.user_id, "at": iso(pipeline.clock.now()), "requestId": "legacy"}
    )
    assert pipeline.run()
    (email,) = accepted_emails(inbox.take(), borrower.email)
    assert email.subject == f"{lou.email} accepted: $600.00 of $1,000.00 funded"
