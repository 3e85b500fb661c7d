"""Changes to bank accounts the rail makes: a notification of change (C01) re-seals the account's number and the
next file carries it; an account not verified in 14 days fails, and what was waiting for it is cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.ach.settings import AchRail
from app.main import create_app
from app.payments import ledger, sealing
from tests.conftest import make_settings
from tests.factories import a_user
from tests.payments.test_rail_support import (
    MONDAY_9AM_EASTERN,
    a_send_that_dies,
    account_of,
    archive_copy,
    assert_books,
    bank_step,
    db_of,
    fresh_table,
    job,
    payment,
    payments_of_account,
    register,
    schedule_collection,
    valid_nacha,
    verify_through_api,
)
from tests.support.clock import FakeClock
from tests.support.nacha import Notice, inbound_file
from tests.support.sftp import Bank

CHANGED, CORRECTED = "0505050505", "0505050506"


@pytest.fixture
def table_name(ddb_client: Any) -> Iterator[str]:
    with fresh_table(ddb_client) as name:
        yield name


@pytest.fixture
def rail_app(endpoint_url: str, table_name: str, rail_settings: AchRail) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name, ach=rail_settings), clock=FakeClock(MONDAY_9AM_EASTERN))


def test_a_c01_change_reseals_the_account_number_and_the_next_file_carries_it(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db, state = db_of(rail_app), tmp_path / "bank-state"
    user = a_user(rail_app)
    account = register(rail_app, user, CHANGED)
    # Given micro-deposits to 0505050505, which the bank posts and answers with a C01 for each
    [first] = job(rail_app, "ach_send")["files"]
    assert {e.account_number.strip() for e in valid_nacha((bank.outbound / first).read_bytes()).entries} == {CHANGED}
    assert sum("NOC C01" in line for line in bank_step(bank, rail_app, state)) == 3

    # When the receive job reads them
    received = job(rail_app, "ach_receive")

    # Then the account holds the corrected number, sealed, and shows its new last four
    assert received["changes"] == 3 and received["returns"] == 0 and len(received["processed"]) == 1
    item = account_of(rail_app, user, account)
    assert item["accountLast4"] == CORRECTED[-4:] and item["routingLast4"] == "0021"
    keys = sealing.data_keys_for(rail_app.state.settings)
    plain = sealing.unseal(keys=keys, binding=sealing.Binding.bank_account(user.user_id, account), item=item)
    assert plain == {"routingNumber": "021000021", "accountNumber": CORRECTED}
    assert CORRECTED not in str(item) and CHANGED not in str(item)  # only ever encrypted at rest
    listed = TestClient(rail_app).get("/bank-accounts", headers=user.headers).json()["items"]
    assert [a["accountNumberLast4"] for a in listed] == [CORRECTED[-4:]]
    assert {p["status"] for p in payments_of_account(db, account)} == {"submitted"}  # a change is no return

    # And the next file carries the corrected number, which the bank posts without another change
    verify_through_api(rail_app, user, account)
    collection = schedule_collection(rail_app, user, account, "12.34")
    [second] = job(rail_app, "ach_send")["files"]
    [entry] = valid_nacha((bank.outbound / second).read_bytes()).entries
    assert (entry.account_number.strip(), entry.trace_number) == (CORRECTED, payment(db, collection, account)["traceNumber"])
    events = bank_step(bank, rail_app, state)
    assert any("posted" in line for line in events) and not any("NOC" in line for line in events)
    assert_books(rail_app, user, account)


def test_an_account_not_verified_in_14_days_fails_and_what_waits_for_it_is_cancelled(rail_app: FastAPI, bank: Bank) -> None:
    db, clock = db_of(rail_app), rail_app.state.clock
    user = a_user(rail_app)
    account = register(rail_app, user, "000909090909")
    assert job(rail_app, "ach_send")["entries"] == 3  # the micro-deposits go out; nobody types them in
    collection = schedule_collection(rail_app, user, account, "30.00")
    report = job(rail_app, "ach_send")
    assert report["files"] == [] and report["waiting"] == 1  # nothing but micro-deposits goes to a pending account
    clock.advance(days=3)
    assert job(rail_app, "ach_settle")["settled"] == 3

    clock.advance(days=11, minutes=-1)  # one minute before 14 days: still pending
    assert job(rail_app, "ach_settle")["verifications_failed"] == 0
    clock.advance(minutes=2)
    assert job(rail_app, "ach_settle")["verifications_failed"] == 1
    item = account_of(rail_app, user, account)
    assert (item["status"], item["failureReason"]) == ("failed", "not_verified_in_time")
    client = TestClient(rail_app)
    login = client.post("/auth/login", json={"email": user.email, "password": user.password})  # two weeks on: a new session
    user.access_token = login.json()["accessToken"]
    amounts = [float(value) for value in item["microDeposits"]]
    verify = client.post(f"/bank-accounts/{account}/verify", json={"amounts": amounts}, headers=user.headers)
    assert verify.status_code == 409 and verify.json()["error"]["code"] == "VERIFICATION_FAILED"

    report = job(rail_app, "ach_send")
    assert report["cancelled"] == 1 and report["files"] == []
    cancelled = payment(db, collection, account)
    assert (cancelled["status"], cancelled["cancelReason"]) == ("cancelled", "account_failed")
    assert not list(bank.outbound.glob("*.ach"))[1:]  # only the micro-deposits' file ever went out
    assert job(rail_app, "ach_send")["cancelled"] == 0
    assert_books(rail_app, user, account)
    assert int(item["openPayments"]) == 1 and int(account_of(rail_app, user, account)["openPayments"]) == 0


def test_a_file_rebuilt_after_a_change_to_its_account_is_byte_for_byte_the_first(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db, clock, state = db_of(rail_app), rail_app.state.clock, tmp_path / "bank-state"
    user = a_user(rail_app)
    account = register(rail_app, user, CHANGED)
    job(rail_app, "ach_send")
    bank_step(bank, rail_app, state)  # the micro-deposits' C01s wait in inbound/
    verify_through_api(rail_app, user, account)
    collection = schedule_collection(rail_app, user, account, "55.00")
    # Given a run that claimed the collection (with the account as it was), uploaded its file and died
    a_send_that_dies(rail_app)
    [name] = [path.name for path in bank.outbound.glob("*.ach")]
    # and the account's number changed (C01) before the file is finished, the bank having collected it
    assert job(rail_app, "ach_receive")["changes"] == 3
    assert account_of(rail_app, user, account)["accountLast4"] == CORRECTED[-4:]
    bank_step(bank, rail_app, state)
    first = (bank.outbound / "collected" / name).read_bytes()

    clock.advance(minutes=16)
    assert job(rail_app, "ach_send")["recovered"] == [name]

    # Then the file sent again is the same bytes, to the number the entry was claimed with
    again = (bank.outbound / name).read_bytes()
    assert again == first == archive_copy(rail_app, name)
    [entry] = valid_nacha(again).entries
    assert (entry.account_number.strip(), entry.trace_number) == (CHANGED, payment(db, collection, account)["traceNumber"])
    assert_books(rail_app, user, account)


def test_a_change_to_a_number_no_entry_can_carry_does_not_stop_the_rail(rail_app: FastAPI, bank: Bank) -> None:
    db, clock = db_of(rail_app), rail_app.state.clock
    user = a_user(rail_app)
    changed = register(rail_app, user, "000121212121")
    job(rail_app, "ach_send")
    [debit] = [p for p in payments_of_account(db, changed) if p["direction"] == "debit"]
    # Given a C01 whose corrected account number has 20 digits
    notice = Notice(original_trace=debit["traceNumber"], code="C01", corrected_data="12345678901234567890")
    (bank.inbound / "NOC-LONG.ach").write_bytes(inbound_file([notice]))
    job(rail_app, "ach_receive")
    verify_through_api(rail_app, user, changed)
    schedule_collection(rail_app, user, changed, "10.00")
    other = register(rail_app, user, "000343434343")

    # Then the rail still sends everyone else's payments, now and after any lease
    job(rail_app, "ach_send")
    clock.advance(minutes=16)
    job(rail_app, "ach_send")
    assert {p["status"] for p in payments_of_account(db, other)} == {"submitted"}
    assert ledger.open_files(db) == []
