"""The send job under concurrency: several runs at once (threads of one app, or two apps over one table) send
every due payment in exactly one uploaded file, with trace numbers unique for ever and ascending in each file."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
from fastapi import FastAPI

from app.ach import transport
from app.ach.settings import AchRail
from app.ach.transport import BankSession
from app.db.keys import trace_key
from app.jobs import run_job
from app.main import create_app
from app.payments import ledger, receiving, sealing
from tests.conftest import make_settings
from tests.factories import a_user
from tests.payments.test_rail_support import (
    MONDAY_9AM_EASTERN,
    assert_books,
    db_of,
    fresh_table,
    listed_files,
    payment_events,
    payments_of_account,
    register,
    valid_nacha,
)
from tests.support.clock import FakeClock
from tests.support.nacha import Notice, inbound_file
from tests.support.sftp import Bank

ACCOUNTS = 10  # three micro-deposits each: 30 payments due


@pytest.fixture
def table_name(ddb_client: Any) -> Iterator[str]:
    with fresh_table(ddb_client) as name:
        yield name


def apps_over_one_table(endpoint_url: str, table_name: str, rail: AchRail, count: int) -> list[FastAPI]:
    """`count` apps (as many Lambda instances) over the same table and bank, with the same keys and time."""
    first = create_app(make_settings(endpoint_url, table_name, ach=rail), clock=FakeClock(MONDAY_9AM_EASTERN))
    same_keys = {"ach_local_key": first.state.settings.ach_local_key, "jwt_secret": first.state.settings.jwt_secret}
    others = [
        create_app(make_settings(endpoint_url, table_name, ach=rail, **same_keys), clock=FakeClock(MONDAY_9AM_EASTERN))
        for _ in range(count - 1)
    ]
    return [first, *others]


def run_sends_at_once(apps: list[FastAPI]) -> list[dict[str, Any]]:
    """One ach_send per app in the list, each in its own thread, all released at the same moment."""
    start = threading.Barrier(len(apps))

    def send(number: int, app: FastAPI) -> dict[str, Any]:
        start.wait()
        return run_job("ach_send", db=db_of(app), clock=app.state.clock, settings=app.state.settings, request_id=f"test-send-{number}")

    with ThreadPoolExecutor(max_workers=len(apps)) as pool:
        return list(pool.map(send, range(len(apps)), apps))


@pytest.mark.parametrize(("apps", "threads_per_app"), [(1, 4), (2, 1)], ids=["4-threads-of-one-app", "2-apps-over-one-table"])
def test_concurrent_send_runs_send_every_payment_exactly_once(
    endpoint_url: str, table_name: str, rail_settings: AchRail, bank: Bank, apps: int, threads_per_app: int
) -> None:
    # Given 30 micro-deposit payments due
    instances = apps_over_one_table(endpoint_url, table_name, rail_settings, apps)
    app = instances[0]
    db = db_of(app)
    user = a_user(app)
    accounts = [register(app, user, f"{4_400_000_000 + number}") for number in range(ACCOUNTS)]
    due = {p["paymentId"]: p for account in accounts for p in payments_of_account(db, account)}
    assert len(due) == 3 * ACCOUNTS and {p["status"] for p in due.values()} == {"scheduled"}

    # When several send runs start at the same moment
    reports = run_sends_at_once([instance for instance in instances for _ in range(threads_per_app)])

    # Then every payment is submitted exactly once...
    assert sum(report["entries"] for report in reports) == len(due)
    sent_names = [name for report in reports for name in report["files"]]
    assert len(sent_names) == len(set(sent_names))
    after = {p["paymentId"]: p for account in accounts for p in payments_of_account(db, account)}
    assert {p["status"] for p in after.values()} == {"submitted"}
    for payment_id in due:
        assert len(payment_events(db, payment_id, "payment_submitted")) == 1, payment_id
    # ...in exactly one of the uploaded files, which are the files the runs said they sent
    uploaded = sorted(bank.outbound.glob("*.ach"))
    assert sorted(path.name for path in uploaded) == sorted(sent_names)
    assert not [path for path in bank.outbound.iterdir() if path.name.startswith(".")]  # no temporary file left behind
    by_trace = {p["traceNumber"]: p for p in after.values()}
    seen: Counter[str] = Counter()
    for path in uploaded:
        parsed = valid_nacha(path.read_bytes())
        traces = [entry.trace_number for entry in parsed.entries]
        assert traces == sorted(traces), path.name  # ascending through the file
        for entry in parsed.entries:
            paid = by_trace[entry.trace_number]
            assert paid["fileId"] == path.name.removesuffix(".ach")
            assert entry.individual_id.strip() == paid["paymentId"][:15].upper()
            assert entry.amount == paid["amount"]
            seen[paid["paymentId"]] += 1
    assert seen == Counter(dict.fromkeys(due, 1))
    all_traces = [p["traceNumber"] for p in after.values()]
    assert len(set(all_traces)) == len(all_traces)
    for trace in all_traces:
        assert (db.get(trace_key(trace)) or {})["paymentPK"] == by_trace[trace]["PK"]
    # the ledger: each file sent once with its count, none left open, each listed once
    listed = [item for item in listed_files(db) if item["direction"] == "outbound"]
    assert Counter(item["name"] for item in listed) == Counter(dict.fromkeys(sent_names, 1))
    assert {item["name"]: int(item["entries"]) for item in listed} == {
        path.name: len(valid_nacha(path.read_bytes()).entries) for path in uploaded
    }
    assert ledger.open_files(db) == []
    assert_books(app, user, *accounts)  # three open (submitted) payments on each account


def test_each_entry_carries_its_payment_ids_first_15_characters_and_its_unique_trace(
    endpoint_url: str, table_name: str, rail_settings: AchRail, bank: Bank
) -> None:
    # The contract's individual id is the payment id's first 15 characters: for UUIDv7 ids that is their time
    # part, shared by payments made in one millisecond. The trace number is what tells entries apart.
    [app] = apps_over_one_table(endpoint_url, table_name, rail_settings, 1)
    user = a_user(app)
    register(app, user, "4500000001")
    register(app, user, "4500000002")
    assert run_sends_at_once([app])[0]["entries"] == 6
    [uploaded] = bank.outbound.glob("*.ach")
    entries = valid_nacha(uploaded.read_bytes()).entries
    db = app.state.resources.db
    for entry in entries:
        link = db.get({"PK": f"TRACE#{entry.trace_number}", "SK": f"TRACE#{entry.trace_number}"})
        assert link is not None and link["paymentPK"].removeprefix("PAYMENT#")[:15].upper() == entry.individual_id
    assert len({entry.trace_number for entry in entries}) == len(entries)


class AnotherReceiveInBetween:
    """The real bank session of one receive run; between its listing and its reads, another run does its whole work."""

    def __init__(self, bank: BankSession, other_run: Any) -> None:
        self._bank, self._other_run = bank, other_run

    def list_inbound(self) -> list[Any]:
        listed = self._bank.list_inbound()
        self._other_run()
        return listed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bank, name)


def test_two_overlapping_receive_runs_apply_a_file_once_and_both_succeed(
    endpoint_url: str, table_name: str, rail_settings: AchRail, bank: Bank
) -> None:
    [app] = apps_over_one_table(endpoint_url, table_name, rail_settings, 1)
    db = db_of(app)
    user = a_user(app)
    account = register(app, user, "4600000001")
    run_sends_at_once([app])
    [debit] = [p for p in payments_of_account(db, account) if p["direction"] == "debit"]
    cents = int(debit["amount"] * 100)
    (bank.inbound / "RET-1.ach").write_bytes(inbound_file([Notice(original_trace=debit["traceNumber"], code="R03", cents=cents)]))
    other: list[dict[str, Any]] = []

    def other_run() -> None:
        other.append(run_job("ach_receive", db=db, clock=app.state.clock, settings=app.state.settings, request_id="test-other-receive"))

    settings = app.state.settings
    with transport.session(settings.ach.sftp_target()) as session:
        overlapped = cast(BankSession, AnotherReceiveInBetween(session, other_run))
        keys = sealing.data_keys_for(settings)
        report = receiving.receive_inbound_files(db=db, clock=app.state.clock, keys=keys, bank=overlapped, request_id="test-overlap")
    assert other[0]["returns"] == 1 and report.returns == 0
    assert len(payment_events(db, debit["paymentId"], "payment_returned")) == 1
