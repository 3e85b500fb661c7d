"""The ACH rail end to end: bank accounts and their micro-deposits through the send, receive and settle jobs, over
the real SFTP server, with the bank simulator (tools/bank_simulator) answering, and achkit reading every file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import achkit
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.ach.archive import LocalArchive
from app.ach.parser import parse_file
from app.ach.settings import AchRail
from app.config import Settings, local_ach_key
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import bank_account_key, payment_owner
from app.db.table import GSI1_NAME, SORT_KEY
from app.jobs import run_job
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.support.bank_simulator import process_once
from tests.support.clock import FakeClock
from tests.support.sftp import Bank

MONDAY_9AM_EASTERN = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
DETAILS = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021"}


@pytest.fixture
def rail_app(endpoint_url: str, table_name: str, rail_settings: AchRail) -> FastAPI:
    settings = make_settings(endpoint_url, table_name, ach=rail_settings)
    return create_app(settings, clock=FakeClock(MONDAY_9AM_EASTERN))


def job(app: FastAPI, name: str) -> dict[str, Any]:
    settings: Settings = app.state.settings
    return run_job(name, db=app.state.resources.db, clock=app.state.clock, settings=settings, request_id=f"test-{name}")


def payments_of_account(db: Dynamo, bank_account_id: str) -> list[dict[str, Any]]:
    condition = Expression(
        "#p = :owner", names={"#p": SORT_KEY}, values={":owner": payment_owner(loan_id=None, bank_account_id=bank_account_id)}
    )
    return db.query_all(condition, index=GSI1_NAME)


def register(app: FastAPI, user: TestUser, account_number: str) -> str:
    response = TestClient(app).post("/bank-accounts", json={**DETAILS, "accountNumber": account_number}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["bankAccountId"])


def bank_step(bank: Bank, app: FastAPI, tmp_path: Path) -> list[str]:
    return process_once(bank.outbound.parent, tmp_path / "bank-state", app.state.clock.now())


def test_micro_deposits_go_out_in_one_file_and_verify_the_account(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db: Dynamo = rail_app.state.resources.db
    user = a_user(rail_app)
    account = register(rail_app, user, "000123456789")

    report = job(rail_app, "ach_send")
    assert len(report["files"]) == 1 and report["entries"] == 3
    [uploaded] = list(bank.outbound.iterdir())
    content = uploaded.read_bytes()
    verdict = achkit.validate(content.decode("ascii"))  # the independent implementation agrees with the file
    assert verdict["ok"], verdict["errors"]
    parsed = parse_file(content)
    assert sorted(e.description for e in parsed.entries) == ["ACCTVERIFY"] * 3
    assert {e.account_number for e in parsed.entries} == {"000123456789"}
    payments = payments_of_account(db, account)
    assert {p["status"] for p in payments} == {"submitted"}
    assert sorted(p["traceNumber"] for p in payments) == sorted(e.trace_number for e in parsed.entries)
    assert parsed.debit_total == parsed.credit_total  # the offsetting debit: the platform gives nothing away
    archive = LocalArchive(rail_app.state.settings.ach.archive_dir, local_ach_key(rail_app.state.settings) or b"")
    assert archive.read_local(uploaded.name) == content
    assert b"000123456789" not in (Path(rail_app.state.settings.ach.archive_dir) / f"{uploaded.name}.enc").read_bytes()

    assert job(rail_app, "ach_send")["files"] == []  # nothing twice
    events = bank_step(bank, rail_app, tmp_path)
    assert any("collected" in line for line in events)

    item = db.get(bank_account_key(user.user_id, account)) or {}
    amounts = [float(value) for value in item["microDeposits"]]
    verified = TestClient(rail_app).post(f"/bank-accounts/{account}/verify", json={"amounts": amounts}, headers=user.headers)
    assert verified.status_code == 200 and verified.json()["status"] == "verified"

    rail_app.state.clock.advance(days=1)
    assert job(rail_app, "ach_settle")["settled"] == 0  # effective Tuesday, window 2 banking days: Thursday
    rail_app.state.clock.advance(days=2)
    assert job(rail_app, "ach_settle")["settled"] == 3
    assert {p["status"] for p in payments_of_account(db, account)} == {"settled"}
    assert (db.get(bank_account_key(user.user_id, account)) or {})["openPayments"] == Decimal(0)


def test_a_returned_micro_deposit_fails_the_account(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db: Dynamo = rail_app.state.resources.db
    user = a_user(rail_app)
    account = register(rail_app, user, "1111111111")  # the simulator returns debits to it R01
    job(rail_app, "ach_send")
    bank_step(bank, rail_app, tmp_path)
    report = job(rail_app, "ach_receive")
    assert len(report["processed"]) == 1 and report["returns"] == 1
    payments = payments_of_account(db, account)
    assert sorted(p["status"] for p in payments) == ["returned", "submitted", "submitted"]
    assert [p["returnCode"] for p in payments if p["status"] == "returned"] == ["R01"]
    listed = TestClient(rail_app).get("/bank-accounts", headers=user.headers).json()["items"]
    assert [a["status"] for a in listed] == ["failed"]
    assert job(rail_app, "ach_receive")["processed"] == []  # the file moved to processed/: nothing twice
    assert list((bank.inbound / "processed").iterdir())


def test_a_bank_outage_leaves_every_payment_scheduled_and_the_next_run_sends_it(
    endpoint_url: str, table_name: str, rail_settings: AchRail, bank: Bank
) -> None:
    down = rail_settings.model_copy(update={"sftp_port": 1})
    app = create_app(make_settings(endpoint_url, table_name, ach=down), clock=FakeClock(MONDAY_9AM_EASTERN))
    user = a_user(app)
    account = register(app, user, "22223333")
    with pytest.raises(Exception, match="SFTP"):
        job(app, "ach_send")
    db: Dynamo = app.state.resources.db
    assert {p["status"] for p in payments_of_account(db, account)} == {"scheduled"}
    assert not any("fileId" in p for p in payments_of_account(db, account))
    same_keys = {"ach_local_key": app.state.settings.ach_local_key, "jwt_secret": app.state.settings.jwt_secret}
    up = create_app(
        make_settings(endpoint_url, table_name, ach=rail_settings, **same_keys), clock=FakeClock(MONDAY_9AM_EASTERN + timedelta(minutes=5))
    )
    assert job(up, "ach_send")["entries"] == 3
    assert {p["status"] for p in payments_of_account(db, account)} == {"submitted"}
