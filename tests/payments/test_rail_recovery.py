"""A send run that died is finished or undone by the next run once its file's 15-minute lease is over:
claiming -> its payments released and sent in a new file; built/uploaded -> the identical bytes rebuilt and
the payments marked; the identical file sent again (with an exception for the ACH desk) when the bank
collected the first copy in between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.ach.entries import file_id_modifier, file_name
from app.ach.settings import AchRail
from app.db.dynamo import Dynamo
from app.db.keys import ach_file_key, bank_account_key
from app.main import create_app
from app.money.calendar import effective_date
from app.payments import items, ledger, sending
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.payments.test_rail_support import (
    MONDAY_9AM_EASTERN,
    a_send_that_dies,
    archive_copy,
    assert_books,
    bank_step,
    db_of,
    exceptions,
    fresh_table,
    job,
    listed_files,
    payment_events,
    payments_of_account,
    register,
    schedule_collection,
    valid_nacha,
    verify_through_api,
)
from tests.support.clock import FakeClock
from tests.support.sftp import Bank


@pytest.fixture
def table_name(ddb_client: Any) -> Iterator[str]:
    with fresh_table(ddb_client) as name:
        yield name


@pytest.fixture
def rail_app(endpoint_url: str, table_name: str, rail_settings: AchRail) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name, ach=rail_settings), clock=FakeClock(MONDAY_9AM_EASTERN))


class DiesAfterCommits:
    """The real table, but the run dies (RuntimeError) at its transaction number `survives` + 1."""

    def __init__(self, db: Dynamo, survives: int) -> None:
        self._db, self._left = db, survives

    def transact_write(self, operations: Any) -> None:
        if self._left == 0:
            raise RuntimeError("the send run died while marking its payments submitted")
        self._left -= 1
        self._db.transact_write(operations)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def sent_once(app: FastAPI, user: TestUser, account: str, content: bytes) -> None:
    """Every payment of the account submitted once, with the trace number the file gives it."""
    payments = payments_of_account(db_of(app), account)
    assert {p["status"] for p in payments} == {"submitted"}
    entries = valid_nacha(content).entries
    assert sorted(p["traceNumber"] for p in payments) == sorted(entry.trace_number for entry in entries)
    by_trace = {entry.trace_number: entry for entry in entries}
    assert all(by_trace[p["traceNumber"]].individual_id.strip() == p["paymentId"][:15].upper() for p in payments)
    assert all(len(payment_events(db_of(app), p["paymentId"], "payment_submitted")) == 1 for p in payments)
    assert_books(app, user, account)


def test_a_run_that_died_while_claiming_is_abandoned_after_its_lease_and_its_payments_sent_anew(rail_app: FastAPI, bank: Bank) -> None:
    db, clock = db_of(rail_app), rail_app.state.clock
    user = a_user(rail_app)
    held, free = register(rail_app, user, "000111000111"), register(rail_app, user, "000222000222")
    # Given a run that opened its file and claimed one account's payments, then died (as sending._send_new does)
    now = clock.now()
    modifier = file_id_modifier(ledger.next_modifier_index(db, day=f"{now:%Y%m%d}"))
    name = file_name(now, modifier)
    dead = ledger.open_outbound_file(
        db, file_id=name.removesuffix(".ach"), name=name, created_at=now, modifier=modifier, effective_date=effective_date(now).isoformat()
    )
    account = db.get(bank_account_key(user.user_id, held)) or {}
    for payment in payments_of_account(db, held):
        claim = items.claim(payment, file_id=dead.file_id, account=account)
        db.update(claim["key"], claim["update"], condition=claim["condition"])

    # When a run comes while the lease still runs: it leaves that file and its payments alone
    clock.advance(minutes=5)
    report = job(rail_app, "ach_send")
    assert report["abandoned"] == [] and report["recovered"] == [] and report["entries"] == 3
    assert {(p["status"], p.get("fileId")) for p in payments_of_account(db, held)} == {("scheduled", dead.file_id)}
    assert {p["status"] for p in payments_of_account(db, free)} == {"submitted"}

    # Then the first run after the lease abandons the file, releases its payments and sends them in a new file
    clock.advance(minutes=11)
    report = job(rail_app, "ach_send")
    assert report["abandoned"] == [name] and len(report["files"]) == 1 and report["entries"] == 3
    [new_name] = report["files"]
    assert new_name != name and not (bank.outbound / name).exists()  # the abandoned file never reached the bank
    assert {p.get("fileId") for p in payments_of_account(db, held)} == {new_name.removesuffix(".ach")}
    sent_once(rail_app, user, held, (bank.outbound / new_name).read_bytes())
    assert (db.get(ach_file_key(dead.file_id)) or {})["status"] == "abandoned"
    assert ledger.open_files(db) == []
    assert name not in [f["name"] for f in listed_files(db)]
    assert job(rail_app, "ach_send")["files"] == []  # nothing twice
    assert_books(rail_app, user, held, free)


def test_a_run_that_died_after_its_upload_is_finished_without_a_second_upload(rail_app: FastAPI, bank: Bank) -> None:
    db, clock = db_of(rail_app), rail_app.state.clock
    user = a_user(rail_app)
    account = register(rail_app, user, "000333000333")
    # Given a run that uploaded its file and died before marking a payment submitted
    a_send_that_dies(rail_app)
    [uploaded] = list(bank.outbound.glob("*.ach"))
    content, uploaded_at = uploaded.read_bytes(), uploaded.stat().st_mtime_ns
    assert {(p["status"], "fileId" in p) for p in payments_of_account(db, account)} == {("scheduled", True)}
    assert [file.status for file in ledger.open_files(db)] == ["built"]

    clock.advance(minutes=5)  # the lease still runs: nothing is touched
    report = job(rail_app, "ach_send")
    assert (report["files"], report["recovered"]) == ([], [])
    assert {p["status"] for p in payments_of_account(db, account)} == {"scheduled"}

    # When the first run after the lease comes
    clock.advance(minutes=11)
    report = job(rail_app, "ach_send")

    # Then it finds the file on the server (RemoteFileExists), uploads nothing, and marks every payment submitted
    assert report["recovered"] == [uploaded.name] and report["files"] == [] and report["entries"] == 0
    assert [path.name for path in bank.outbound.iterdir()] == [uploaded.name]
    assert uploaded.read_bytes() == content and uploaded.stat().st_mtime_ns == uploaded_at
    assert archive_copy(rail_app, uploaded.name) == content
    sent_once(rail_app, user, account, content)
    assert [f["name"] for f in listed_files(db)] == [uploaded.name]
    assert (db.get(ach_file_key(uploaded.name.removesuffix(".ach"))) or {})["status"] == "sent"
    assert ledger.open_files(db) == [] and exceptions(db, "resent_file") == []
    assert job(rail_app, "ach_send")["recovered"] == []


def test_a_file_the_bank_collected_before_the_run_could_mark_it_is_sent_again_identically_with_an_exception(
    rail_app: FastAPI, bank: Bank, tmp_path: Path
) -> None:
    db, clock = db_of(rail_app), rail_app.state.clock
    user = a_user(rail_app)
    account = register(rail_app, user, "000444000444")
    # Given a run that uploaded its file and died, and the bank collected the file in between
    a_send_that_dies(rail_app)
    [uploaded] = list(bank.outbound.glob("*.ach"))
    first = uploaded.read_bytes()
    assert any("collected" in line for line in bank_step(bank, rail_app, tmp_path / "bank-state"))
    assert not uploaded.exists() and (bank.outbound / "collected" / uploaded.name).read_bytes() == first

    # When the first run after the lease comes
    clock.advance(minutes=16)
    report = job(rail_app, "ach_send")

    # Then the identical bytes are uploaded again under the same name, the payments marked once, and the desk told
    assert report["recovered"] == [uploaded.name] and report["files"] == []
    again = uploaded.read_bytes()
    assert again == first == archive_copy(rail_app, uploaded.name)
    sent_once(rail_app, user, account, again)
    [resent] = exceptions(db, "resent_file")
    assert resent["fileName"] == uploaded.name and "0004440" not in resent["detail"]
    assert [f["name"] for f in listed_files(db)] == [uploaded.name]
    assert job(rail_app, "ach_send")["recovered"] == [] and len(exceptions(db, "resent_file")) == 1
    # and the bank, which saw that name already, discards the copy: nothing is posted twice
    assert any("already processed" in line for line in bank_step(bank, rail_app, tmp_path / "bank-state"))


def test_a_run_that_died_between_two_chunks_of_submissions_is_finished_by_the_next(rail_app: FastAPI, bank: Bank) -> None:
    db, clock = db_of(rail_app), rail_app.state.clock
    user = a_user(rail_app)
    account = register(rail_app, user, "000555000555")
    verify_through_api(rail_app, user, account)
    for _ in range(sending.SUBMIT_CHUNK):  # with the micro-deposits: 36 payments, two chunks of submissions
        schedule_collection(rail_app, user, account, "10.00")
    # Given a run that uploaded its file, marked the first chunk submitted and died before the second
    a_send_that_dies(rail_app, after_upload=False, db=DiesAfterCommits(db, survives=1))
    [uploaded] = list(bank.outbound.glob("*.ach"))
    statuses = sorted(p["status"] for p in payments_of_account(db, account))
    assert statuses == ["scheduled"] * 3 + ["submitted"] * sending.SUBMIT_CHUNK

    # When the first run after the lease comes, then the file is finished: every payment submitted, nothing open
    clock.advance(minutes=16)
    job(rail_app, "ach_send")
    assert {p["status"] for p in payments_of_account(db, account)} == {"submitted"}
    assert ledger.open_files(db) == []
    assert [path.name for path in bank.outbound.glob("*.ach")] == [uploaded.name]
