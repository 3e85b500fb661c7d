"""Late unauthorised returns: the simulator's account 1010101010 posts a debit and returns it R10 later. Up to
60 days after settlement the settled payment is returned (listed for operators as a late return); after
that the return is refused (listed too) and the payment stays settled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.ach.settings import AchRail
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import a_user
from tests.payments.test_rail_support import (
    MONDAY_9AM_EASTERN,
    assert_books,
    bank_step,
    db_of,
    exceptions,
    fresh_table,
    job,
    payment,
    payment_events,
    register,
    schedule_collection,
    set_aside_outbound,
    verify_through_api,
)
from tests.support.clock import FakeClock
from tests.support.sftp import Bank

NOT_AUTHORISED_LATE = "1010101010"
SETTLES_AFTER = timedelta(days=3)  # sent Monday, effective Tuesday, two banking days: settled Thursday


@pytest.fixture
def table_name(ddb_client: Any) -> Iterator[str]:
    with fresh_table(ddb_client) as name:
        yield name


@pytest.fixture
def rail_app(endpoint_url: str, table_name: str, rail_settings: AchRail) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name, ach=rail_settings), clock=FakeClock(MONDAY_9AM_EASTERN))


@pytest.mark.parametrize(("days_after_settlement", "taken"), [(7, True), (60, True), (61, False)])
def test_a_late_r10_is_taken_up_to_60_days_after_settlement(
    rail_app: FastAPI, bank: Bank, tmp_path: Path, days_after_settlement: int, taken: bool
) -> None:
    db, clock, state = db_of(rail_app), rail_app.state.clock, tmp_path / "bank-state"
    # Given a verified account (its micro-deposits kept from the bank, which would return them R10 too)
    user = a_user(rail_app)
    account = register(rail_app, user, NOT_AUTHORISED_LATE)
    verify_through_api(rail_app, user, account)
    job(rail_app, "ach_send")
    set_aside_outbound(bank, tmp_path / "kept-from-the-bank")
    # and a collection the bank posts, with its R10 due `days_after_settlement` days after the payment settles
    collection = schedule_collection(rail_app, user, account, "40.00")
    assert job(rail_app, "ach_send")["entries"] == 1
    late = (SETTLES_AFTER + timedelta(days=days_after_settlement)).total_seconds()
    assert any("late return R10" in line for line in bank_step(bank, rail_app, state, late_seconds=late))
    assert job(rail_app, "ach_receive")["processed"] == []  # nothing came back yet
    clock.advance(days=3)
    assert job(rail_app, "ach_settle")["settled"] == 4  # the collection and the three micro-deposits
    settled = payment(db, collection, account)
    assert settled["status"] == "settled" and settled["settledAt"] == "2026-12-10T14:00:00Z"

    # When the R10 arrives
    clock.advance(days=days_after_settlement)
    assert any("returned R10" in line for line in bank_step(bank, rail_app, state))
    received = job(rail_app, "ach_receive")

    # Then within 60 days the payment is returned and operators see a late return; after, a refused return
    after = payment(db, collection, account)
    assert len(received["processed"]) == 1
    if taken:
        assert received["returns"] == 1
        assert (after["status"], after["returnCode"]) == ("returned", "R10")
        [kept] = exceptions(db, "late_return")
        assert (kept["paymentId"], kept["returnCode"], kept["amount"]) == (collection, "R10", settled["amount"])
        assert exceptions(db, "return_refused") == []
    else:
        assert received["returns"] == 0
        assert after["status"] == "settled" and "returnCode" not in after
        assert payment_events(db, collection, "payment_returned") == []
        [kept] = exceptions(db, "return_refused")
        assert (kept["paymentId"], kept["returnCode"], kept["originalTrace"]) == (collection, "R10", settled["traceNumber"])
        assert exceptions(db, "late_return") == []
    assert_books(rail_app, user, account)  # nothing open: a settled payment left the count when it settled
    assert job(rail_app, "ach_receive")["processed"] == []
