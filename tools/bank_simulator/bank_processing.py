"""One step of the bank: collect the new outbound files, post their entries, send the returns and NOCs that are due.

The test accounts (the DFI account number field, stripped; any routing number):
  1111111111  every debit is returned R01 (insufficient funds); credits post
  3333333333  every entry is returned R03 (no account / unable to locate account)
  1010101010  every debit posts, then is returned R10 (not authorised) --late-seconds later; credits post
  0505050505  every entry posts, and a C01 notification of change gives the account number 0505050506
  any other   the entry posts
A step's returns and NOCs go out together in one file per ODFI, RET-<YYYYMMDD>-<HHMMSS>-<n>.ach (returns
and NOCs in separate batches of it), written under a dot name in inbound/ and then renamed.

Order (each step, so that a crash anywhere loses nothing and repeats nothing): decide everything in
memory; save the books (the files' names marked handled, the new return files in the outbox); move the
outbound files to collected/ or rejected/; write the outbox's files; save again. A file found in outbound/
under a name already handled was either left there by a step that stopped before moving it (it is moved
now, not read again), or uploaded again under a name already used (it is put in rejected/, not posted).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from bank_files import Entry, InvalidFile, read_outbound
from bank_ledger import (
    Account,
    FileRecord,
    LateReturn,
    Notice,
    Outgoing,
    Posting,
    State,
    load,
    moment,
    money,
    next_trace,
    save,
    stamp,
)
from bank_returns import return_file

INSUFFICIENT_FUNDS = "1111111111"
NO_ACCOUNT = "3333333333"
NOT_AUTHORISED_LATE = "1010101010"
CHANGED_ACCOUNT = "0505050505"
CORRECTED_ACCOUNT = "0505050506"
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_outbound_files(outbound: Path) -> list[Path]:
    """The complete files the ODFI has been given: *.ach, not dot-files (uploads in progress), not folders."""
    return sorted(path for path in outbound.glob("*.ach") if path.is_file() and not path.name.startswith("."))


def _notice(state: State, odfi: str, entry: Entry, code: str, corrected: str = "") -> Notice:
    return Notice(
        code=code,
        odfi=odfi,
        original_trace=entry.trace,
        transaction_code=entry.transaction_code,
        routing=entry.routing,
        account=entry.account,
        amount_cents=entry.amount_cents,
        individual_id=entry.individual_id,
        name=entry.name,
        sec=entry.sec,
        company_id=entry.company_id,
        company_name=entry.company_name,
        corrected=corrected,
        trace=next_trace(state, entry.routing),
    )


def immediate_return(entry: Entry) -> str | None:
    """The return code the receiving bank answers this entry with at once, if any."""
    if entry.account == NO_ACCOUNT:
        return "R03"
    if entry.account == INSUFFICIENT_FUNDS and entry.direction == "debit":
        return "R01"
    return None


def _post(state: State, name: str, odfi: str, entry: Entry, now: datetime, late_seconds: float) -> tuple[list[Notice], list[str]]:
    """Post one entry to its account; the notices to send now and the event lines."""
    key = f"{entry.routing}:{entry.account}"
    account = state["accounts"].setdefault(key, Account(routing=entry.routing, account=entry.account, holder=entry.name, postings=[]))
    account["holder"] = entry.name or account["holder"]
    posting = Posting(
        posted_at=stamp(now),
        file=name,
        trace=entry.trace,
        description=entry.description,
        direction="debit" if entry.direction == "debit" else "credit",
        amount_cents=entry.amount_cents,
        individual_id=entry.individual_id,
        company_name=entry.company_name,
        returned=None,
        returned_at=None,
        change=None,
    )
    account["postings"].append(posting)
    what = f"({entry.direction} {money(entry.amount_cents)} {entry.description})"
    code = immediate_return(entry)
    if code is not None:
        posting["returned"], posting["returned_at"] = code, stamp(now)
        return [_notice(state, odfi, entry, code)], [f"returned {code} trace {entry.trace} {what}"]
    notices: list[Notice] = []
    events = [f"posted trace {entry.trace} {what}"]
    if entry.account == NOT_AUTHORISED_LATE and entry.direction == "debit":
        due = stamp(now + timedelta(seconds=late_seconds))
        state["late"].append(LateReturn(due_at=due, account_key=key, notice=_notice(state, odfi, entry, "R10")))
        events.append(f"late return R10 for trace {entry.trace} due at {due}")
    if entry.account == CHANGED_ACCOUNT:
        posting["change"] = f"C01 {CORRECTED_ACCOUNT}"
        notices.append(_notice(state, odfi, entry, "C01", CORRECTED_ACCOUNT))
        events.append(f"NOC C01 trace {entry.trace}: account number {CORRECTED_ACCOUNT}")
    return notices, events


def _due_late_returns(state: State, now: datetime) -> tuple[list[Notice], list[str]]:
    due = [late for late in state["late"] if moment(late["due_at"]) <= now]
    state["late"] = [late for late in state["late"] if moment(late["due_at"]) > now]
    for late in due:
        trace = late["notice"]["original_trace"]
        for posting in state["accounts"][late["account_key"]]["postings"]:
            if posting["trace"] == trace and posting["returned"] is None:
                posting["returned"], posting["returned_at"] = late["notice"]["code"], stamp(now)
    return [late["notice"] for late in due], [
        f"returned {late['notice']['code']} trace {late['notice']['original_trace']} (late)" for late in due
    ]


def _queue(state: State, notices: list[Notice], now: datetime) -> None:
    """Put the step's notices in the outbox: one file per ODFI, its name and modifier fixed now."""
    for odfi in sorted({notice["odfi"] for notice in notices}):
        state["return_files"] += 1
        number = state["return_files"]
        state["outbox"].append(
            Outgoing(
                name=f"RET-{now:%Y%m%d-%H%M%S}-{number}.ach",
                created_at=stamp(now),
                modifier=FILE_ID_MODIFIERS[(number - 1) % len(FILE_ID_MODIFIERS)],
                odfi=odfi,
                notices=[notice for notice in notices if notice["odfi"] == odfi],
            )
        )


def _move(source: Path, folder: Path) -> None:
    """Move a file into `folder`, never over another one (name-1.ach, name-2.ach ... when taken)."""
    folder.mkdir(parents=True, exist_ok=True)
    target, copy = folder / source.name, 0
    while target.exists():
        copy += 1
        target = folder / f"{source.stem}-{copy}{source.suffix}"
    try:
        os.rename(source, target)
    except FileNotFoundError:  # taken away meanwhile: nothing left to move
        return


def _send(inbound: Path, state: State) -> list[str]:
    """Write the outbox's files into inbound/ (a dot name, then renamed), each once."""
    events: list[str] = []
    for outgoing in list(state["outbox"]):
        name = outgoing["name"]
        if not any((folder / name).exists() for folder in (inbound, inbound / "processed", inbound / "rejected")):
            content = return_file(
                outgoing["notices"], odfi=outgoing["odfi"], created_at=moment(outgoing["created_at"]), modifier=outgoing["modifier"]
            )
            temp = inbound / f".{name}.part"
            temp.write_bytes(content)
            os.rename(temp, inbound / name)
        state["outbox"].remove(outgoing)
        state["sent"].append(outgoing)
        changes = sum(notice["code"].startswith("C") for notice in outgoing["notices"])
        events.append(f"sent {name}: {len(outgoing['notices']) - changes} returns, {changes} NOCs")
    return events


def process_once(root: Path, state_dir: Path, now: datetime, *, late_seconds: float = 120) -> list[str]:
    """One step of the bank at time `now` (aware, UTC): the event lines of what it did."""
    state = load(state_dir)
    outbound, inbound = root / "outbound", root / "inbound"
    for folder in (outbound / "collected", outbound / "rejected", inbound):
        folder.mkdir(parents=True, exist_ok=True)
    events: list[str] = []
    notices: list[Notice] = []
    moves: list[tuple[Path, Path]] = []
    for path in new_outbound_files(outbound):
        name = path.name
        known = state["files"].get(name)
        if known is not None:
            folder = outbound / ("collected" if known["outcome"] == "collected" else "rejected")
            if (folder / name).exists():  # handled and moved before: this is the same name uploaded again
                state["history"].append(
                    FileRecord(name=name, at=stamp(now), outcome="duplicate", entries=0, reason="name already processed")
                )
                events.append(f"rejected {name}: a file of that name was already processed; nothing posted")
                folder = outbound / "rejected"
            moves.append((path, folder))
            continue
        try:
            received = read_outbound(path.read_bytes())
        except InvalidFile as exc:
            record = FileRecord(name=name, at=stamp(now), outcome="rejected", entries=0, reason=str(exc))
            events.append(f"rejected {name}: {exc}")
            moves.append((path, outbound / "rejected"))
        else:
            record = FileRecord(name=name, at=stamp(now), outcome="collected", entries=len(received.entries), reason="")
            events.append(f"collected {name}: {len(received.entries)} entries")
            moves.append((path, outbound / "collected"))
            for entry in received.entries:
                sent_back, lines = _post(state, name, received.odfi, entry, now, late_seconds)
                notices += sent_back
                events += lines
        state["files"][name] = record
        state["history"].append(record)
    late_notices, late_events = _due_late_returns(state, now)
    notices += late_notices
    events += late_events
    if not (moves or notices or state["outbox"]):
        return events  # nothing happened: the books stay as they are on disk
    _queue(state, notices, now)
    save(state_dir, state)
    for source, folder in moves:
        _move(source, folder)
    if state["outbox"]:
        events += _send(inbound, state)
        save(state_dir, state)
    return events
