"""Returns from the bank simulator (README "The bank, locally"): R01 is presented again at most twice (attempt 2
and 3, entry description RETRY PYMT, from the next banking day), R03 and a third return are final."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.ach.settings import AchRail
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.payments.test_rail_support import (
    MONDAY_9AM_EASTERN,
    assert_books,
    bank_step,
    db_of,
    fresh_table,
    job,
    payment,
    payments_of_account,
    register,
    schedule_collection,
    set_aside_outbound,
    valid_nacha,
    verify_through_api,
)
from tests.support.clock import FakeClock
from tests.support.sftp import Bank

INSUFFICIENT_FUNDS, NO_ACCOUNT = "1111111111", "3333333333"


@pytest.fixture
def table_name(ddb_client: Any) -> Iterator[str]:
    with fresh_table(ddb_client) as name:
        yield name


@pytest.fixture
def rail_app(endpoint_url: str, table_name: str, rail_settings: AchRail) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name, ach=rail_settings), clock=FakeClock(MONDAY_9AM_EASTERN))


def verified_account(app: FastAPI, bank: Bank, tmp_path: Path, number: str) -> tuple[TestUser, str]:
    """An account verified through the API. Its micro-deposits' file is kept from the bank: the simulator would
    return them too (and a returned micro-deposit fails the account), which is not what these stories are about."""
    user = a_user(app)
    account = register(app, user, number)
    verify_through_api(app, user, account)
    assert job(app, "ach_send")["entries"] == 3
    set_aside_outbound(bank, tmp_path / "kept-from-the-bank")
    return user, account


def send_and_answer(app: FastAPI, bank: Bank, state: Path) -> tuple[list[Any], dict[str, Any]]:
    """One send (its file checked by achkit), one step of the bank, one receive: the file's entries and the receipt."""
    sent = job(app, "ach_send")
    [name] = sent["files"]
    entries = list(valid_nacha((bank.outbound / name).read_bytes()).entries)
    bank_step(bank, app, state)
    return entries, job(app, "ach_receive")


def test_an_r01_collection_is_presented_twice_more_and_the_third_return_is_final(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db, clock, state = db_of(rail_app), rail_app.state.clock, tmp_path / "bank-state"
    user, account = verified_account(rail_app, bank, tmp_path, INSUFFICIENT_FUNDS)
    first = schedule_collection(rail_app, user, account, "25.00")

    # Monday: the collection goes out and comes back R01
    entries, received = send_and_answer(rail_app, bank, state)
    assert [(e.description, e.amount, e.transaction_code) for e in entries] == [("LOANPAYMT", 25, 27)]
    assert received["returns"] == 1 and received["retries"] == 1
    returned = payment(db, first, account)
    assert (returned["status"], returned["returnCode"]) == ("returned", "R01")
    [retry] = [p for p in payments_of_account(db, account) if p.get("retryOf") == first]
    assert (retry["status"], int(retry["attempt"]), retry["description"]) == ("scheduled", 2, "RETRY PYMT")
    assert retry["notBefore"] == "2026-12-08"  # the next banking day
    assert (retry["kind"], retry["direction"], retry["amount"]) == ("collection", "debit", returned["amount"])
    assert job(rail_app, "ach_send")["files"] == []  # not before the next banking day
    assert_books(rail_app, user, account)

    # Tuesday: attempt 2 goes out as RETRY PYMT and comes back R01 again: attempt 3, from Wednesday
    clock.advance(days=1)
    entries, received = send_and_answer(rail_app, bank, state)
    assert [(e.description, e.amount, e.individual_id.strip()) for e in entries] == [("RETRY PYMT", 25, retry["paymentId"][:15].upper())]
    assert received["retries"] == 1
    [third] = [p for p in payments_of_account(db, account) if p.get("retryOf") == retry["paymentId"]]
    assert (int(third["attempt"]), third["description"], third["notBefore"]) == (3, "RETRY PYMT", "2026-12-09")

    # Wednesday: attempt 3 comes back R01: final
    clock.advance(days=1)
    entries, received = send_and_answer(rail_app, bank, state)
    assert [e.description for e in entries] == ["RETRY PYMT"]
    assert received["returns"] == 1 and received["retries"] == 0
    collections = sorted((p for p in payments_of_account(db, account) if p["kind"] == "collection"), key=lambda p: int(p["attempt"]))
    assert [(int(p["attempt"]), p["status"], p["returnCode"]) for p in collections] == [(n, "returned", "R01") for n in (1, 2, 3)]
    clock.advance(days=1)
    assert job(rail_app, "ach_send")["files"] == []  # no attempt 4
    assert_books(rail_app, user, account)


def test_an_r03_collection_is_returned_for_good(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db = db_of(rail_app)
    user, account = verified_account(rail_app, bank, tmp_path, NO_ACCOUNT)
    collection = schedule_collection(rail_app, user, account, "40.00")

    _, received = send_and_answer(rail_app, bank, tmp_path / "bank-state")

    assert received["returns"] == 1 and received["retries"] == 0
    returned = payment(db, collection, account)
    assert (returned["status"], returned["returnCode"]) == ("returned", "R03")
    assert not [p for p in payments_of_account(db, account) if p.get("retryOf")]
    rail_app.state.clock.advance(days=1)
    assert job(rail_app, "ach_send")["files"] == []
    assert_books(rail_app, user, account)
