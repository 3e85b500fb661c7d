"""The bank's books: one JSON document under --state (ledger.json), rewritten whole and atomically after each step.

It holds the simulated receiving accounts (keyed "routing:account") and what was posted to them, the
names of every outbound file already handled (so none is handled twice, across restarts too), the late
returns not yet due, the outbox (return/NOC files decided but not yet written to inbound/: written, then
dropped from the outbox, so a crash in between writes them on the next step instead of losing them), and
the files sent. Times are UTC ISO-8601 strings; amounts are whole cents.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypedDict, cast

STATE_FILE = "ledger.json"
VERSION = 1


class Posting(TypedDict):
    """An entry as the receiving account saw it; `returned` is its return code once it is sent back."""

    posted_at: str
    file: str
    trace: str
    description: str
    direction: Literal["credit", "debit"]
    amount_cents: int
    individual_id: str
    company_name: str
    returned: str | None
    returned_at: str | None
    change: str | None  # e.g. "C01 0505050506": a notification of change was sent for it


class Account(TypedDict):
    routing: str
    account: str
    holder: str
    postings: list[Posting]


class Notice(TypedDict):
    """One entry of a return/NOC file: the original entry's details, the code, and the entry's own trace."""

    code: str  # R01.. (a return, addenda 99) or C01.. (a notification of change, addenda 98)
    odfi: str
    original_trace: str
    transaction_code: int  # the original entry's: 22/27/32/37
    routing: str
    account: str
    amount_cents: int
    individual_id: str
    name: str
    sec: str
    company_id: str
    company_name: str
    corrected: str  # a change's corrected data; "" for a return
    trace: str


class LateReturn(TypedDict):
    due_at: str
    account_key: str
    notice: Notice


class FileRecord(TypedDict):
    name: str
    at: str
    outcome: Literal["collected", "rejected", "duplicate"]
    entries: int
    reason: str


class Outgoing(TypedDict):
    name: str
    created_at: str
    modifier: str
    odfi: str
    notices: list[Notice]


class State(TypedDict):
    version: int
    accounts: dict[str, Account]
    files: dict[str, FileRecord]  # every outbound file name handled, whatever became of it
    history: list[FileRecord]  # the same and every duplicate refused, in order, for the page
    late: list[LateReturn]
    outbox: list[Outgoing]
    sent: list[Outgoing]
    return_files: int  # files queued so far: the <n> of RET-<date>-<time>-<n>.ach
    trace_sequence: int  # the 7-digit sequence of the return and NOC entries' own traces


def empty_state() -> State:
    return State(version=VERSION, accounts={}, files={}, history=[], late=[], outbox=[], sent=[], return_files=0, trace_sequence=0)


def load(state_dir: Path) -> State:
    """The books as last saved, or empty ones for a new bank."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return empty_state()
    state = cast(State, json.loads(path.read_text(encoding="utf-8")))
    if state.get("version") != VERSION:
        raise SystemExit(f"{path}: ledger version {state.get('version')!r}, this simulator reads version {VERSION}")
    return state


def save(state_dir: Path, state: State) -> None:
    """Write the books whole: a temporary file in the same folder, flushed to disk, then os.replace over the old one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=f".{STATE_FILE}.", suffix=".tmp", dir=state_dir)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(state, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, state_dir / STATE_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def money(cents: int) -> str:
    """Cents as dollars, e.g. -1234 -> "-12.34" (never a float)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def next_trace(state: State, routing: str) -> str:
    """A return or NOC entry's own trace: the RDFI's first 8 digits + the bank's next 7-digit sequence."""
    state["trace_sequence"] = state["trace_sequence"] % (10**7 - 1) + 1
    return f"{routing[:8]}{state['trace_sequence']:07d}"


def balance_cents(account: Account) -> int:
    """What the postings did to the account: credits in, debits out, returned entries not at all."""
    return sum(
        (posting["amount_cents"] if posting["direction"] == "credit" else -posting["amount_cents"])
        for posting in account["postings"]
        if posting["returned"] is None
    )
