"""Helpers of the rail's story tests (tests/payments/test_rail_*.py); this module holds no test of its own.

The stories run the real jobs (app.jobs.run_job) over DynamoDB Local and the real SFTP server of
tests/support/sftp.py, with the bank simulator (tools/bank_simulator) answering; time moves only on the
app's FakeClock. Each story gets a table of its own (`fresh_table`): the send and settle jobs read every
due payment of the table, so a payment another story left scheduled would change what this one sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import achkit
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.ach import transport
from app.ach.archive import LocalArchive
from app.ach.parser import ParsedFile, parse_file
from app.ach.transport import BankSession
from app.clock import iso
from app.config import Settings, local_ach_key
from app.db.dynamo import Dynamo
from app.db.expressions import Expression, Item
from app.db.keys import ACH_EXCEPTIONS, EVENT, bank_account_key, payment_key, payment_owner, payment_partition
from app.db.schema_admin import drop_table, ensure_table
from app.db.table import GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.jobs import run_job
from app.jobs.ach import archive_for
from app.money.calendar import eastern_date
from app.payments import items, ledger, repository, sealing, sending
from tests.factories import TestUser
from tests.support.bank_simulator import process_once
from tests.support.sftp import Bank

MONDAY_9AM_EASTERN = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
DETAILS = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021"}
OPEN = ("scheduled", "submitted")


@contextmanager
def fresh_table(ddb_client: Any) -> Iterator[str]:
    name = f"t-rail-{uuid.uuid4().hex[:12]}"
    ensure_table(ddb_client, name)
    try:
        yield name
    finally:
        drop_table(ddb_client, name)


def job(app: FastAPI, name: str) -> dict[str, Any]:
    settings: Settings = app.state.settings
    request_id = f"test-{name}-{uuid.uuid4().hex[:6]}"
    return run_job(name, db=app.state.resources.db, clock=app.state.clock, settings=settings, request_id=request_id)


def db_of(app: FastAPI) -> Dynamo:
    db: Dynamo = app.state.resources.db
    return db


def register(app: FastAPI, user: TestUser, account_number: str) -> str:
    response = TestClient(app).post("/bank-accounts", json={**DETAILS, "accountNumber": account_number}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["bankAccountId"])


def account_of(app: FastAPI, user: TestUser, account_id: str) -> Item:
    item = db_of(app).get(bank_account_key(user.user_id, account_id))
    assert item is not None
    return item


def verify_through_api(app: FastAPI, user: TestUser, account_id: str) -> None:
    """The owner types in the two micro-deposits their statement shows (the table's copy of them)."""
    amounts = [float(value) for value in account_of(app, user, account_id)["microDeposits"]]
    response = TestClient(app).post(f"/bank-accounts/{account_id}/verify", json={"amounts": amounts}, headers=user.headers)
    assert response.status_code == 200 and response.json()["status"] == "verified", response.text


def payments_of_account(db: Dynamo, bank_account_id: str) -> list[Item]:
    owner = payment_owner(loan_id=None, bank_account_id=bank_account_id)
    return db.query_all(Expression("#p = :owner", names={"#p": SORT_KEY}, values={":owner": owner}), index=GSI1_NAME)


def payment(db: Dynamo, payment_id: str, bank_account_id: str) -> Item:
    item = db.get(payment_key(payment_id, payment_owner(loan_id=None, bank_account_id=bank_account_id)))
    assert item is not None
    return item


def payment_events(db: Dynamo, payment_id: str, event_type: str) -> list[Item]:
    condition = Expression(
        "#pk = :pk AND begins_with(#sk, :event)",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": payment_partition(payment_id), ":event": EVENT},
    )
    return [event for event in db.query_all(condition, consistent=True) if event["type"] == event_type]


def schedule_collection(app: FastAPI, user: TestUser, account_id: str, amount: str) -> str:
    """A collection debit due today, scheduled as the servicing code schedules one (with its event and open count)."""
    now = app.state.clock.now()
    account = account_of(app, user, account_id)
    new = items.new_payment(
        kind="collection",
        direction="debit",
        amount=Decimal(amount),
        account=account,
        loan_id=None,
        at=iso(now),
        not_before=eastern_date(now).isoformat(),
    )
    actor = items.Actor(actor_id="test:servicing", at=iso(now), request_id="test-schedule")
    repository.commit_change(db_of(app), items.scheduled(new, actor))
    return str(new["paymentId"])


def bank_step(bank: Bank, app: FastAPI, state: Path, *, late_seconds: float = 120) -> list[str]:
    """One step of the bank simulator at the app's time: it collects outbound/ and answers into inbound/."""
    return process_once(bank.outbound.parent, state, app.state.clock.now(), late_seconds=late_seconds)


def set_aside_outbound(bank: Bank, folder: Path) -> list[Path]:
    """Take the uploaded files out of the bank's reach (kept in `folder`): the bank never answers them."""
    folder.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(bank.outbound.glob("*.ach")):
        moved.append(path.rename(folder / path.name))
    return moved


def valid_nacha(content: bytes) -> ParsedFile:
    """The file as our parser reads it, once achkit (an independent implementation) has found it valid."""
    verdict = achkit.validate(content.decode("ascii"))
    assert verdict["ok"], verdict["errors"]
    return parse_file(content)


def exceptions(db: Dynamo, kind: str | None = None) -> list[Item]:
    """The operators' exceptions (GSI1 ACHEXCEPTIONS), of one kind if given."""
    condition = Expression("#gsi = :exceptions", names={"#gsi": SORT_KEY}, values={":exceptions": ACH_EXCEPTIONS})
    return [item for item in db.query_all(condition, index=GSI1_NAME) if kind is None or item["kind"] == kind]


def listed_files(db: Dynamo) -> list[Item]:
    """The files the operators' list shows (sent, processed, rejected), newest first."""
    return ledger.file_page(db, caller="test", limit=1000, cursor=None).items


def assert_books(app: FastAPI, user: TestUser, *account_ids: str) -> None:
    """Each account's count of open payments is the number of its payments scheduled or submitted."""
    db = db_of(app)
    for account_id in account_ids:
        open_ones = [p for p in payments_of_account(db, account_id) if p["status"] in OPEN]
        assert int(account_of(app, user, account_id)["openPayments"]) == len(open_ones), account_id


class DiesAfterUpload:
    """The real bank session, but the run dies (RuntimeError) right after its upload completed."""

    def __init__(self, bank: BankSession) -> None:
        self._bank = bank

    def upload(self, name: str, content: bytes) -> None:
        self._bank.upload(name, content)
        raise RuntimeError("the send run died after its upload")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bank, name)


def rail_over(app: FastAPI, bank: Any) -> sending.Rail:
    """The rail the ach_send job builds (app/jobs/ach.py run_send), over the given bank session."""
    settings = app.state.settings
    return sending.Rail(
        originator=settings.ach.originator(),
        window_days=settings.ach.return_window_days,
        keys=sealing.data_keys_for(settings),
        archive=archive_for(settings),
        bank=cast(BankSession, bank),
    )


def a_send_that_dies(app: FastAPI, *, after_upload: bool = True, db: Any = None) -> None:
    with transport.session(app.state.settings.ach.sftp_target()) as session:
        rail = rail_over(app, DiesAfterUpload(session) if after_upload else session)
        with pytest.raises(RuntimeError, match="died"):
            sending.send_due_payments(db=db or db_of(app), clock=app.state.clock, rail=rail, request_id="test-dying-send")


def archive_copy(app: FastAPI, name: str) -> bytes:
    return LocalArchive(app.state.settings.ach.archive_dir, local_ach_key(app.state.settings) or b"").read_local(name)
