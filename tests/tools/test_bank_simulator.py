"""The bank simulator (tools/bank_simulator) against the app's own NACHA builder and parser.

Outbound files are built by app.ach.builder, one processing step is run in-process at a given time, and
the return and NOC files it writes must read back through app.ach.parser and app.ach.notices with the
original traces and codes. The simulator shares no code with app/: it is imported from its own folder.
"""

from __future__ import annotations

import importlib
import json
import shutil
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.ach.builder import build_file
from app.ach.entries import BuiltFile, OutboundEntry
from app.ach.notices import InboundNotices, read_notices
from app.ach.parser import ParsedFile, parse_file
from tests.support.nacha import ORIGINATOR

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bank_simulator"
sys.path.insert(0, str(TOOL))
simulator = importlib.import_module("simulator")
bank_ledger = importlib.import_module("bank_ledger")
bank_web = importlib.import_module("bank_web")

CREATED = datetime(2026, 12, 7, 15, 0, 5, tzinfo=UTC)
EFFECTIVE = date(2026, 12, 8)
NOW = datetime(2026, 12, 7, 15, 0, 10, tzinfo=UTC)
ROUTING = "021000021"


def entry(payment_id: str, direction: str, amount: str, account: str, description: str = "", *, savings: bool = False) -> OutboundEntry:
    return OutboundEntry(
        payment_id=payment_id,
        direction=direction,  # type: ignore[arg-type]
        description=description or ("LOANFUND" if direction == "debit" else "PAYOUT"),
        amount=Decimal(amount),
        routing_number=ROUTING,
        account_number=account,
        account_type="savings" if savings else "checking",
        holder_name="Ada Lovelace",
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "sftp" / "outbound").mkdir(parents=True)
    return tmp_path / "sftp"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "bank"


def build(entries: list[OutboundEntry], *, modifier: str = "A") -> BuiltFile:
    return build_file(
        originator=ORIGINATOR, entries=entries, created_at=CREATED, modifier=modifier, effective_date=EFFECTIVE, first_trace_sequence=41
    )


def drop(root: Path, entries: list[OutboundEntry]) -> BuiltFile:
    built = build(entries)
    (root / "outbound" / built.name).write_bytes(built.content)
    return built


def trace_of(built: BuiltFile, payment_id: str) -> str:
    return next(e.trace_number for e in built.entries if e.payment_id == payment_id)


def sent(root: Path) -> list[tuple[str, ParsedFile, InboundNotices]]:
    files = sorted((root / "inbound").glob("*.ach"))
    return [(path.name, parsed := parse_file(path.read_bytes()), read_notices(parsed)) for path in files]


def postings(state: Path) -> dict[str, list[dict[str, Any]]]:
    return {key: account["postings"] for key, account in bank_ledger.load(state)["accounts"].items()}


def test_a_valid_file_is_collected_and_its_entries_posted(root: Path, state: Path) -> None:
    built = drop(root, [entry("pay-1", "debit", "500.00", "000123456789"), entry("pay-2", "credit", "44.09", "000123456789")])
    events = simulator.process_once(root, state, NOW)
    assert events[0] == f"collected {built.name}: 2 entries"
    assert not (root / "outbound" / built.name).exists()
    assert (root / "outbound" / "collected" / built.name).read_bytes() == built.content
    account = bank_ledger.load(state)["accounts"][f"{ROUTING}:000123456789"]
    assert {(p["trace"], p["direction"], p["amount_cents"], p["returned"]) for p in account["postings"]} == {
        (trace_of(built, "pay-1"), "debit", 50000, None),
        (trace_of(built, "pay-2"), "credit", 4409, None),
    }
    assert account["holder"] == "ADA LOVELACE"
    assert bank_ledger.balance_cents(account) == 4409 - 50000
    assert sent(root) == []


def test_each_test_account_gets_its_return_or_its_notification_of_change(root: Path, state: Path) -> None:
    built = drop(
        root,
        [
            entry("r01-debit", "debit", "88.17", "1111111111"),
            entry("r01-credit", "credit", "12.00", "1111111111"),
            entry("r03-debit", "debit", "5.00", "3333333333", savings=True),
            entry("r03-credit", "credit", "7.00", "3333333333"),
            entry("r10-debit", "debit", "9.99", "1010101010"),
            entry("c01-credit", "credit", "0.42", "0505050505", "ACCTVERIFY"),
            entry("plain-debit", "debit", "1.00", "999888777"),
        ],
    )
    events = simulator.process_once(root, state, NOW)
    ((name, parsed, notices),) = sent(root)
    assert name == "RET-20261207-150010-1.ach" and f"sent {name}: 3 returns, 1 NOCs" in events
    assert {r.original_trace: (r.return_code, r.amount) for r in notices.returns} == {
        trace_of(built, "r01-debit"): ("R01", Decimal("88.17")),
        trace_of(built, "r03-debit"): ("R03", Decimal("5.00")),
        trace_of(built, "r03-credit"): ("R03", Decimal("7.00")),
    }
    (change,) = notices.changes
    assert (change.original_trace, change.change_code, change.account_number) == (trace_of(built, "c01-credit"), "C01", "0505050506")
    # the entries as the app's parser reads them: codes one below the original's, the original account, own traces
    by_account = {(e.account_number, e.transaction_code, e.sec_code, e.description, e.amount) for e in parsed.entries}
    assert by_account == {
        ("1111111111", 26, "WEB", "RETURN", Decimal("88.17")),
        ("3333333333", 36, "WEB", "RETURN", Decimal("5.00")),
        ("3333333333", 21, "PPD", "RETURN", Decimal("7.00")),
        ("0505050505", 21, "COR", "NOC", Decimal(0)),
    }
    assert all(e.trace_number.startswith(ROUTING[:8]) and e.individual_name == "ADA LOVELACE" for e in parsed.entries)
    assert len({e.trace_number for e in parsed.entries}) == 4
    assert parsed.header["immediateDestination"] == " 091000019" and parsed.header["immediateOrigin"] == " 091000019"
    assert {e.individual_id for e in parsed.entries} == {"R01-DEBIT", "R03-DEBIT", "R03-CREDIT", "C01-CREDIT"}
    assert {e.service_class for e in parsed.entries} == {200}
    assert not [path for path in (root / "inbound").iterdir() if path.name.startswith(".")]
    # the books: returned entries do not count; the R10 debit stays posted until its return is due
    status = {p["trace"]: p["returned"] for ps in postings(state).values() for p in ps}
    assert status[trace_of(built, "r01-debit")] == "R01" and status[trace_of(built, "r01-credit")] is None
    assert status[trace_of(built, "r10-debit")] is None and status[trace_of(built, "c01-credit")] is None


def test_the_late_return_is_sent_once_when_it_is_due(root: Path, state: Path) -> None:
    built = drop(root, [entry("r10-debit", "debit", "9.99", "1010101010"), entry("r10-credit", "credit", "3.00", "1010101010")])
    simulator.process_once(root, state, NOW, late_seconds=120)
    assert sent(root) == []
    assert simulator.process_once(root, state, NOW + timedelta(seconds=119), late_seconds=120) == []
    assert sent(root) == []
    events = simulator.process_once(root, state, NOW + timedelta(seconds=120), late_seconds=5)
    assert f"returned R10 trace {trace_of(built, 'r10-debit')} (late)" in events
    ((_, _, notices),) = sent(root)
    (late,) = notices.returns
    assert (late.original_trace, late.return_code, late.amount) == (trace_of(built, "r10-debit"), "R10", Decimal("9.99"))
    for later in (121, 500, 10_000):  # each step loads the books from disk afresh, as a restart does
        assert simulator.process_once(root, state, NOW + timedelta(seconds=later)) == []
    assert len(sent(root)) == 1
    (account,) = bank_ledger.load(state)["accounts"].values()
    assert bank_ledger.balance_cents(account) == 300


def test_the_same_file_name_is_never_processed_twice(root: Path, state: Path) -> None:
    built = drop(root, [entry("r01-debit", "debit", "88.17", "1111111111")])
    simulator.process_once(root, state, NOW)
    # a step that saved its books but stopped before moving the file: the file is moved, not read again
    shutil.move(root / "outbound" / "collected" / built.name, root / "outbound" / built.name)
    assert simulator.process_once(root, state, NOW + timedelta(seconds=2)) == []
    assert (root / "outbound" / "collected" / built.name).exists()
    # the same name uploaded again after the bank took it: refused, nothing posted, nothing returned
    (root / "outbound" / built.name).write_bytes(built.content)
    events = simulator.process_once(root, state, NOW + timedelta(seconds=4))
    assert events == [f"rejected {built.name}: a file of that name was already processed; nothing posted"]
    assert (root / "outbound" / "rejected" / built.name).exists()
    assert [len(ps) for ps in postings(state).values()] == [1]
    assert len(sent(root)) == 1


def _cut_at_block(content: bytes) -> bytes:
    return b"".join(content.splitlines(keepends=True)[:10])


def _amount_changed(content: bytes) -> bytes:
    lines = content.decode("ascii").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("6"))
    lines[index] = lines[index][:29] + "0000000001" + lines[index][39:]
    return "".join(lines).encode("ascii")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_cut_at_block, id="truncated-at-a-block"),
        pytest.param(lambda content: content[: len(content) // 2 + 30], id="truncated-mid-record"),
        pytest.param(_amount_changed, id="totals-do-not-match"),
        pytest.param(lambda content: content.replace(b"\n", b" \n", 1), id="a-record-of-95"),
        pytest.param(lambda content: b"", id="empty"),
    ],
)
def test_an_invalid_file_is_rejected_and_nothing_is_posted(root: Path, state: Path, damage: Any) -> None:
    built = build([entry(f"pay-{n}", "credit", "1.00", "000123456789") for n in range(12)], modifier="B")
    assert len(built.content.splitlines()) > 10
    (root / "outbound" / built.name).write_bytes(damage(built.content))
    (event,) = simulator.process_once(root, state, NOW)
    assert event.startswith(f"rejected {built.name}: ")
    assert (root / "outbound" / "rejected" / built.name).exists() and not (root / "outbound" / built.name).exists()
    assert postings(state) == {} and sent(root) == []
    assert bank_ledger.load(state)["files"][built.name]["outcome"] == "rejected"


def test_uploads_still_under_their_temporary_dot_name_are_left_alone(root: Path, state: Path) -> None:
    content = build([entry("pay-1", "credit", "1.00", "000123456789")]).content
    temps = [".20261207-150005-A.ach.1a2b3c4d.part", ".20261207-150005-A.ach", "notes.txt"]
    for name in temps:
        (root / "outbound" / name).write_bytes(content)
    assert simulator.process_once(root, state, NOW) == []
    assert all((root / "outbound" / name).exists() for name in temps)
    assert bank_ledger.load(state)["files"] == {}


def test_the_page_shows_the_micro_deposits_to_type_in(root: Path, state: Path) -> None:
    built = drop(
        root,
        [
            entry("verify-1", "credit", "0.07", "000123456789", "ACCTVERIFY"),
            entry("verify-2", "credit", "0.42", "000123456789", "ACCTVERIFY"),
            entry("verify-3", "debit", "0.49", "000123456789", "ACCTVERIFY"),
        ],
    )
    simulator.process_once(root, state, NOW)
    window = bank_web.start(state, 0)
    try:
        base = f"http://127.0.0.1:{window.server_address[1]}"
        with urllib.request.urlopen(f"{base}/accounts.json", timeout=10) as answer:  # noqa: S310 - our own local server
            content = json.load(answer)
        with urllib.request.urlopen(f"{base}/", timeout=10) as answer:  # noqa: S310
            html = answer.read().decode("utf-8")
    finally:
        window.shutdown()
        window.server_close()
    (account,) = content["accounts"]
    assert (account["routing"], account["accountNumber"], account["holderName"]) == (ROUTING, "000123456789", "ADA LOVELACE")
    assert sorted(account["microDeposits"]) == ["0.07", "0.42"]
    assert {(e["description"], e["direction"], e["amount"], e["traceNumber"]) for e in account["entries"]} == {
        ("ACCTVERIFY", "credit", "0.07", trace_of(built, "verify-1")),
        ("ACCTVERIFY", "credit", "0.42", trace_of(built, "verify-2")),
        ("ACCTVERIFY", "debit", "0.49", trace_of(built, "verify-3")),
    }
    assert account["balance"] == "0.00"
    assert content["files"][0]["name"] == built.name and content["files"][0]["outcome"] == "collected"
    assert "000123456789" in html and "0.07" in html and built.name in html


def test_the_page_escapes_what_it_shows() -> None:
    view = bank_web.view(bank_ledger.empty_state())
    view["files"] = [{"name": "<script>x</script>.ach", "at": "now", "outcome": "rejected", "entries": 0, "reason": "a & b"}]
    html = bank_web.page(view)
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;.ach" in html and "a &amp; b" in html


def test_the_tool_runs_until_sigterm_and_exits_zero(root: Path, state: Path) -> None:
    command = [sys.executable, str(TOOL / "simulator.py"), "--root", str(root), "--state", str(state), "--port", "0", "--interval", "0.2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert "accounts at http://127.0.0.1:" in process.stdout.readline()
        built = drop(root, [entry("pay-1", "debit", "2.00", "3333333333")])
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert lines[0] == f"collected {built.name}: 1 entries"
        assert lines[1].startswith("returned R03 trace ") and lines[2].startswith("sent RET-")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read().strip() == "bank simulator stopped"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
