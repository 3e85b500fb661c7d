"""Bad input on the rail: inbound files that do not parse are rejected whole (nothing of them applied), a file
dropped twice is applied once, a return nobody sent is kept for operators, and an upload the server mangles
is never taken for sent."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.ach.parser import parse_file
from app.ach.remote import BankUnreachable
from app.ach.settings import AchRail
from app.main import create_app
from app.payments import ledger
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.payments.test_rail_support import (
    MONDAY_9AM_EASTERN,
    account_of,
    assert_books,
    db_of,
    exceptions,
    fresh_table,
    job,
    listed_files,
    payment_events,
    payments_of_account,
    register,
    valid_nacha,
)
from tests.support.clock import FakeClock
from tests.support.nacha import Notice, inbound_file
from tests.support.sftp import Bank, SftpServer, running_sftp_server

NUMBER = "000777888999"


@pytest.fixture
def table_name(ddb_client: Any) -> Iterator[str]:
    with fresh_table(ddb_client) as name:
        yield name


@pytest.fixture
def rail_app(endpoint_url: str, table_name: str, rail_settings: AchRail) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name, ach=rail_settings), clock=FakeClock(MONDAY_9AM_EASTERN))


def micro_deposits_sent(app: FastAPI) -> tuple[TestUser, str, dict[str, Any]]:
    """A user's account whose micro-deposits went out; the offsetting debit (the one a return names here)."""
    user = a_user(app)
    account = register(app, user, NUMBER)
    assert job(app, "ach_send")["entries"] == 3
    [debit] = [p for p in payments_of_account(db_of(app), account) if p["direction"] == "debit"]
    return user, account, debit


def return_of(payment: dict[str, Any], code: str = "R03") -> bytes:
    cents = int(Decimal(payment["amount"]) * 100)
    return inbound_file([Notice(original_trace=payment["traceNumber"], code=code, cents=cents, account=NUMBER)])


def inbound_names(bank: Bank, folder: str = "") -> list[str]:
    return sorted(path.name for path in (bank.inbound / folder).iterdir() if path.is_file())


def test_files_that_do_not_parse_are_rejected_whole_and_nothing_of_them_is_applied(rail_app: FastAPI, bank: Bank) -> None:
    db = db_of(rail_app)
    user, account, debit = micro_deposits_sent(rail_app)
    good = return_of(debit)
    parse_file(good)  # the file itself is valid: only what is done to it below makes it bad
    records = good.split(b"\n")
    entry = bytearray(records[2])  # header, batch header, then the return entry: its amount at columns 30-39
    entry[38] = ord("0") + (entry[38] - ord("0") + 1) % 10
    # Given one byte changed (the batch's totals no longer match), a file cut after its batch, one cut mid-record
    bad = {
        "RET-TAMPERED.ach": b"\n".join([*records[:2], bytes(entry), *records[3:]]),
        "RET-NO-CONTROL.ach": b"".join(record + b"\n" for record in records[:5]),
        "RET-CUT.ach": good[:300],
    }
    for name, content in bad.items():
        (bank.inbound / name).write_bytes(content)

    # When the receive job runs
    report = job(rail_app, "ach_receive")

    # Then each is moved to rejected/ whole, recorded rejected, with an exception, and its return not applied
    assert sorted(report["rejected"]) == sorted(bad) and report["processed"] == [] and report["returns"] == 0
    assert inbound_names(bank) == [] and inbound_names(bank, "rejected") == sorted(bad)
    inbound = [item for item in listed_files(db) if item["direction"] == "inbound"]
    assert sorted((item["name"], item["status"]) for item in inbound) == sorted((name, "rejected") for name in bad)
    reasons = {item["name"]: item["reason"] for item in inbound}
    assert "batch control's totalDebit does not match" in reasons["RET-TAMPERED.ach"]
    assert "truncated" in reasons["RET-NO-CONTROL.ach"] and "94 characters" in reasons["RET-CUT.ach"]
    assert sorted(item["fileName"] for item in exceptions(db, "rejected_file")) == sorted(bad)
    assert all(NUMBER not in item["detail"] for item in exceptions(db))
    assert payment_events(db, debit["paymentId"], "payment_returned") == []
    assert {p["status"] for p in payments_of_account(db, account)} == {"submitted"}
    assert account_of(rail_app, user, account)["status"] == "pending_verification"  # a returned micro-deposit would fail it

    # And the same bad bytes again under another name: moved to rejected/ too, nothing recorded twice
    (bank.inbound / "RET-TAMPERED-AGAIN.ach").write_bytes(bad["RET-TAMPERED.ach"])
    again = job(rail_app, "ach_receive")
    assert again["duplicates"] == ["RET-TAMPERED-AGAIN.ach"] and again["rejected"] == []
    assert "RET-TAMPERED-AGAIN.ach" in inbound_names(bank, "rejected") and len(exceptions(db, "rejected_file")) == 3

    # While the valid file itself returns the payment (the control: the bad files were refused for their faults)
    (bank.inbound / "RET-GOOD.ach").write_bytes(good)
    assert job(rail_app, "ach_receive")["returns"] == 1
    assert [p["returnCode"] for p in payments_of_account(db, account) if p["status"] == "returned"] == ["R03"]
    assert_books(rail_app, user, account)


def test_the_same_return_file_dropped_twice_is_applied_once(rail_app: FastAPI, bank: Bank) -> None:
    db = db_of(rail_app)
    user, account, debit = micro_deposits_sent(rail_app)
    content = return_of(debit)
    (bank.inbound / "RET-1.ach").write_bytes(content)
    (bank.inbound / "RET-2.ach").write_bytes(content)

    report = job(rail_app, "ach_receive")
    assert report["processed"] == ["RET-1.ach"] and report["duplicates"] == ["RET-2.ach"] and report["returns"] == 1
    assert inbound_names(bank) == [] and inbound_names(bank, "processed") == ["RET-1.ach", "RET-2.ach"]
    (bank.inbound / "RET-3.ach").write_bytes(content)  # and once more, in a later run
    assert job(rail_app, "ach_receive")["duplicates"] == ["RET-3.ach"]
    assert inbound_names(bank, "processed") == ["RET-1.ach", "RET-2.ach", "RET-3.ach"]

    assert len(payment_events(db, debit["paymentId"], "payment_returned")) == 1
    assert sorted(p["status"] for p in payments_of_account(db, account)) == ["returned", "submitted", "submitted"]
    assert [(f["name"], f["status"]) for f in listed_files(db) if f["direction"] == "inbound"] == [("RET-1.ach", "processed")]
    assert account_of(rail_app, user, account)["status"] == "failed"
    assert_books(rail_app, user, account)


def test_a_return_and_a_change_for_trace_numbers_nobody_sent_are_kept_for_operators(rail_app: FastAPI, bank: Bank) -> None:
    db = db_of(rail_app)
    user, account, _ = micro_deposits_sent(rail_app)
    unknown_return = Notice(original_trace="091000019999999", code="R01", cents=1234)
    unknown_change = Notice(original_trace="091000019999998", code="C01", corrected_data="123456789")
    (bank.inbound / "RET-STRANGER.ach").write_bytes(inbound_file([unknown_return, unknown_change]))

    report = job(rail_app, "ach_receive")

    assert report["processed"] == ["RET-STRANGER.ach"] and report["unmatched"] == 2 and report["returns"] == 0
    assert inbound_names(bank, "processed") == ["RET-STRANGER.ach"]
    [kept] = exceptions(db, "unmatched_return")
    assert kept["originalTrace"] == "091000019999999" and kept["returnCode"] == "R01" and kept["amount"] == Decimal("12.34")
    assert [item["originalTrace"] for item in exceptions(db, "unmatched_change")] == ["091000019999998"]
    assert {p["status"] for p in payments_of_account(db, account)} == {"submitted"}
    assert job(rail_app, "ach_receive")["processed"] == [] and len(exceptions(db)) == 2
    assert_books(rail_app, user, account)


@pytest.fixture
def faulty_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SftpServer]:
    (tmp_path / "root").mkdir()
    (tmp_path / "keys").mkdir()
    with running_sftp_server(tmp_path / "root", tmp_path / "keys", fault=request.param) as server:
        yield server


def rail_on(server: SftpServer, rail: AchRail) -> AchRail:
    update = {"sftp_port": server.port, "sftp_password": SecretStr(server.password), "sftp_host_key": server.host_key}
    return rail.model_copy(update={**update, "sftp_outbound_dir": "/outbound", "sftp_inbound_dir": "/inbound"})


def app_on(server: SftpServer, endpoint_url: str, table_name: str, rail: AchRail) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name, ach=rail_on(server, rail)), clock=FakeClock(MONDAY_9AM_EASTERN))


@pytest.mark.parametrize("faulty_server", ["short-write", "drop-on-write"], indirect=True)
def test_an_upload_the_server_mangles_is_never_taken_for_sent(
    endpoint_url: str, table_name: str, rail_settings: AchRail, bank: Bank, faulty_server: SftpServer
) -> None:
    # Given a server that keeps all but the last byte of each write, or drops the connection at the first write
    app = app_on(faulty_server, endpoint_url, table_name, rail_settings)
    db = db_of(app)
    user = a_user(app)
    account = register(app, user, "000666555444")

    with pytest.raises(BankUnreachable, match=r"SFTP|not renamed"):
        job(app, "ach_send")

    outbound = faulty_server.root / "outbound"
    assert not list(outbound.glob("*.ach"))  # nothing under a final name: the bank never takes a part for a file
    payments = payments_of_account(db, account)
    assert {p["status"] for p in payments} == {"scheduled"} and not any("traceNumber" in p for p in payments)
    assert not [f for f in listed_files(db) if f["status"] == "sent"]
    app.state.clock.advance(minutes=5)
    assert job(app, "ach_send")["files"] == []  # within the lease: the file waits, nothing is sent
    assert {p["status"] for p in payments_of_account(db, account)} == {"scheduled"}

    # When the bank works again and the lease is over, the file goes out once, whole, and the payments are marked
    same_keys = {"ach_local_key": app.state.settings.ach_local_key, "jwt_secret": app.state.settings.jwt_secret}
    healthy = create_app(make_settings(endpoint_url, table_name, ach=rail_settings, **same_keys), clock=FakeClock(MONDAY_9AM_EASTERN))
    healthy.state.clock.advance(minutes=16)
    report = job(healthy, "ach_send")
    [uploaded] = list(bank.outbound.glob("*.ach"))
    assert report["recovered"] == [uploaded.name]
    entries = valid_nacha(uploaded.read_bytes()).entries
    assert sorted(e.trace_number for e in entries) == sorted(p["traceNumber"] for p in payments_of_account(db, account))
    assert {p["status"] for p in payments_of_account(db, account)} == {"submitted"} and ledger.open_files(db) == []
    assert_books(app, user, account)


@pytest.mark.parametrize("faulty_server", ["taken-during-write"], indirect=True)
def test_a_name_another_file_took_during_the_upload_is_not_taken_for_sent(
    endpoint_url: str, table_name: str, rail_settings: AchRail, faulty_server: SftpServer
) -> None:
    app = app_on(faulty_server, endpoint_url, table_name, rail_settings)
    user = a_user(app)
    account = register(app, user, "000666555333")
    with contextlib.suppress(BankUnreachable):  # a failed run is a right answer too: what matters is what the table says
        job(app, "ach_send")
    [there] = list((faulty_server.root / "outbound").glob("*.ach"))
    assert there.read_bytes() == b"another uploader's file\n"
    assert {p["status"] for p in payments_of_account(db_of(app), account)} == {"scheduled"}


@pytest.mark.parametrize("faulty_server", ["short-write"], indirect=True)
def test_a_file_whose_upload_failed_for_certain_is_sent_later_without_a_resent_alarm(
    endpoint_url: str, table_name: str, rail_settings: AchRail, bank: Bank, faulty_server: SftpServer
) -> None:
    app = app_on(faulty_server, endpoint_url, table_name, rail_settings)
    register(app, a_user(app), "000666555222")
    with pytest.raises(BankUnreachable, match="not renamed"):
        job(app, "ach_send")
    same_keys = {"ach_local_key": app.state.settings.ach_local_key, "jwt_secret": app.state.settings.jwt_secret}
    healthy = create_app(make_settings(endpoint_url, table_name, ach=rail_settings, **same_keys), clock=FakeClock(MONDAY_9AM_EASTERN))
    healthy.state.clock.advance(minutes=16)
    assert len(job(healthy, "ach_send")["recovered"]) == 1
    assert exceptions(db_of(app), "resent_file") == []
