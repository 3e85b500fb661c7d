#!/usr/bin/env python3
"""One whole story through the real email pipeline, printing every email in the order the SMTP server got it.

    .venv/bin/python scripts/email_story.py

Starts its own DynamoDB Local (as the tests do) and an in-process SMTP server (aiosmtpd), runs the app
in-process, and after each step lets the worker's stream consumer (app/worker.py `drain`) deliver:
register, verify by the emailed link, create a loan, accept, activate, repay. Then runs the consumer
once more to show that nothing is sent twice. Not part of the test suite (tests/notifications is).
"""

from __future__ import annotations

import re
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from app.db.client import make_client
from app.db.schema_admin import ensure_table
from app.db.streams import StreamReader, latest_stream_arn, streams_client
from app.main import create_app
from app.worker import drain
from tests.conftest import make_settings
from tests.loans.helpers import ach, post_json
from tests.support.backend import dynamodb_endpoint
from tests.support.clock import FakeClock
from tests.support.smtp import SmtpServer, free_port

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway local account


def expect(condition: bool, detail: str = "") -> None:
    """Stop the story with what went wrong (a script, not a test: no assert)."""
    if not condition:
        raise SystemExit(f"email story failed: {detail}")


def main() -> None:
    with dynamodb_endpoint() as url:
        table = f"email-story-{uuid.uuid4().hex[:6]}"
        ddb = make_client(region="us-east-1", endpoint_url=url)
        ensure_table(ddb, table)
        smtp = SmtpServer(port=free_port())
        smtp.start()
        try:
            run(url, table, ddb, smtp)
        finally:
            smtp.stop()


def run(url: str, table: str, ddb: Any, smtp: SmtpServer) -> None:
    settings = make_settings(url, table, smtp_host="127.0.0.1", smtp_port=smtp.port, app_base_url="https://app.example.com")
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    client, db = TestClient(app), app.state.resources.db
    arn = latest_stream_arn(ddb, table)
    expect(arn is not None)
    reader = StreamReader(streams_client(region="us-east-1", endpoint_url=url), arn)
    shown = 0

    def step(title: str) -> None:
        nonlocal shown
        expect(drain(reader, db=db, clock=clock, settings=settings))
        print(f"## {title}")
        for message in smtp.inbox.messages[shown:]:
            print(f"  to {', '.join(message.to):24} | {message.subject}")
        shown = len(smtp.inbox.messages)

    def register(first: str, email: str) -> dict[str, str]:
        body = {"email": email, "password": PASSWORD, "firstName": first, "lastName": "Story"}
        response = client.post("/auth/register", json=body)
        expect(response.status_code == 201, response.text)
        return {"Authorization": "Bearer " + response.json()["accessToken"]}

    def verify(headers: dict[str, str], email: str) -> None:
        link = [m for m in smtp.inbox.messages if email in m.to][-1].text
        found = re.search(r"verify-email\?token=([\w-]+)", link)
        expect(found is not None)
        expect(client.post("/auth/verify-email", json={"token": found.group(1)}, headers=headers).status_code == 200)

    bea = register("Bea", "bea@example.com")
    step("bea registers")
    verify(bea, "bea@example.com")
    step("bea verifies by the link (no email)")
    lou = register("Lou", "lou@example.com")
    step("lou registers")
    verify(lou, "lou@example.com")
    lenders = [{"email": "lou@example.com", "amount": Decimal("600.00")}, {"email": "sam@example.com", "amount": Decimal("400.00")}]
    body = {"amount": Decimal("1000.00"), "purpose": "Bakery oven", "termMonths": 12, "interestRate": Decimal("12"), "lenders": lenders}
    loan = post_json(client, "/loans", body, bea).json()
    step("bea creates a 1,000.00 loan at 12% over 12 months, inviting lou (600) and sam (400, no account yet)")
    expect(client.put(f"/lender/accept/{loan['loanId']}", json=ach(), headers=lou).status_code == 200)
    step("lou accepts")
    sam = register("Sam", "sam@example.com")
    step("sam registers")
    verify(sam, "sam@example.com")
    expect(client.put(f"/lender/accept/{loan['loanId']}", json=ach(), headers=sam).status_code == 200)
    step("sam accepts: fully funded, the loan activates")
    repaid = post_json(client, f"/loans/{loan['loanId']}/repayments", {"amount": Decimal("88.85")}, bea)
    expect(repaid.status_code == 201, repaid.text)
    step("bea repays the first installment (88.85)")
    step("the consumer runs again (nothing new)")


if __name__ == "__main__":
    main()
