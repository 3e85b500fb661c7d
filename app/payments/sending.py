"""The send job's rules: every due payment in exactly one uploaded file, also across crashes and concurrent runs.
Longer than 250 lines because the steps of a send and the recovery of each stand side by side: what a crash
after any step leaves is read and undone by the code next to the step.

A run first finishes (or undoes) the outbound files earlier runs left open, then makes one new file:
  1. the due payments (GSI2 ACHPAY#scheduled up to today, US Eastern) whose account may receive them:
     verified, or pending verification for its own micro-deposits; a payment to a failed or closed account
     is cancelled instead, one to an account still pending waits;
  2. the file item is opened (claiming, with a lease) under its name, which fixes its File ID Modifier;
  3. each payment is claimed by one conditional UpdateItem (still scheduled, no file yet), copying its
     account's sealed details, so no other run can take it and the file can be rebuilt byte for byte;
  4. a range of trace numbers is reserved (an atomic counter: unique for ever) and the file is `built`;
  5. the numbers are decrypted, the file is built in memory, kept encrypted in the archive, uploaded
     under a temporary name and renamed (app/ach/transport.py): `uploaded`;
  6. each payment becomes submitted with its trace number (transactions of 33 payments, each with its
     trace claim and event): the file is `sent`.
A run that dies after 2 or 3 leaves a `claiming` file: once its lease is over, its payments are released
and it is abandoned. One that dies after 4 or 5 leaves a `built` or `uploaded` file: the next run rebuilds
the identical bytes and finishes it. When the upload's outcome was unknown (no file of that name in the
outbound folder any more: the bank may have collected it), the identical file is sent again, which the
ODFI discards as a duplicate by its header (same origin, date, time and File ID Modifier), and an
operator exception says so. An SFTP outage fails the run before anything is claimed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from app.ach.builder import build_file
from app.ach.entries import BuiltFile, Originator, OutboundEntry, file_id_modifier, file_name, trace_number
from app.ach.records import NachaError
from app.ach.remote import BankUnreachable, RemoteFileExists, RemoteFileMissing, UploadNotRenamed
from app.clock import iso
from app.db.errors import ConditionFailed
from app.db.keys import bank_account_key, trace_key
from app.errors import LostRace
from app.money.calendar import eastern_date, effective_date, settlement_date
from app.payments import items, ledger, repository, sealing

if TYPE_CHECKING:
    from app.ach.archive import Archive
    from app.ach.transport import BankSession
    from app.clock import Clock
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.payments")

MAX_FILE_ENTRIES = 20_000  # payments per file; more wait for the next run
SUBMIT_CHUNK = 33  # payments per transaction: 3 operations each (payment, trace, event), 99 of 100
ACCOUNT_READ_CHUNK = 100
JOB_ACTOR = "job:ach_send"


@dataclass
class SendReport:
    files: list[str] = field(default_factory=list)
    entries: int = 0
    recovered: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    cancelled: int = 0
    waiting: int = 0


@dataclass(frozen=True)
class Rail:
    """What a run needs besides the table: the originator, the settlement window, the data keys, the archive, the bank."""

    originator: Originator
    window_days: int
    keys: sealing.DataKeySource
    archive: Archive
    bank: BankSession


def send_due_payments(*, db: Dynamo, clock: Clock, rail: Rail, request_id: str, max_entries: int = MAX_FILE_ENTRIES) -> SendReport:
    """Finish what earlier runs left open, then send one file of the due payments (if any)."""
    report = SendReport()
    now = clock.now().replace(microsecond=0)
    actor = items.Actor(actor_id=JOB_ACTOR, at=iso(now), request_id=request_id)
    for file in ledger.open_files(db):
        if file.lease_until > actor.at:
            continue  # the run that opened it may still be working on it
        _recover(db, file, rail=rail, actor=actor, report=report)
    sendable = _due(db, now=now, actor=actor, report=report, limit=max_entries)
    if sendable:
        _send_new(db, sendable, now=now, rail=rail, actor=actor, report=report)
    return report


def _due(db: Dynamo, *, now: datetime, actor: items.Actor, report: SendReport, limit: int) -> list[tuple[Item, Item]]:
    """Due payments with their accounts, up to `limit`; those to failed or closed accounts are cancelled on the way."""
    today = eastern_date(now).isoformat()
    sendable: list[tuple[Item, Item]] = []
    cursor: str | None = None
    while len(sendable) < limit:
        page = repository.payments_in_status(db, status="scheduled", up_to=today, limit=min(1000, limit), cursor=cursor)
        accounts = _accounts_of(db, page.items)
        for payment in page.items:
            account = accounts.get((payment["ownerId"], payment["bankAccountId"]))
            status = account["status"] if account else "closed"
            if status in ("failed", "closed"):
                report.cancelled += _cancel(db, payment, actor, reason=f"account_{status}")
            elif status == "verified" or (status == "pending_verification" and payment["kind"] == "verification"):
                if account is not None and len(sendable) < limit:
                    sendable.append((payment, account))
            else:
                report.waiting += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    return sendable


def _accounts_of(db: Dynamo, payments: Iterable[Item]) -> dict[tuple[str, str], Item]:
    keys = list({(p["ownerId"], p["bankAccountId"]) for p in payments})
    found: dict[tuple[str, str], Item] = {}
    for start in range(0, len(keys), ACCOUNT_READ_CHUNK):
        for account in db.batch_get([bank_account_key(*key) for key in keys[start : start + ACCOUNT_READ_CHUNK]], consistent=True):
            found[(account["userId"], account["bankAccountId"])] = account
    return found


def _cancel(db: Dynamo, payment: Item, actor: items.Actor, *, reason: str) -> int:
    try:
        repository.commit_change(db, items.cancelled(payment, actor, reason=reason))
    except LostRace:
        return 0  # claimed or cancelled meanwhile
    return 1


def _send_new(db: Dynamo, sendable: list[tuple[Item, Item]], *, now: datetime, rail: Rail, actor: items.Actor, report: SendReport) -> None:
    try:
        modifier = file_id_modifier(ledger.next_modifier_index(db, day=f"{now:%Y%m%d}"))
    except NachaError as exc:
        ledger.keep_exception(db, exception_id=f"{now:%Y%m%d}-no-modifier", kind="no_file_id_modifier", at=now, detail=str(exc))
        logger.error("no file id modifier left", extra={"request_id": actor.request_id, "event": "ach_exception", "reason": "no_modifier"})
        return
    name = file_name(now, modifier)
    file = ledger.open_outbound_file(
        db, file_id=name.removesuffix(".ach"), name=name, created_at=now, modifier=modifier, effective_date=effective_date(now).isoformat()
    )
    claimed: list[Item] = []
    for payment, account in sendable:
        claim = items.claim(payment, file_id=file.file_id, account=account)
        try:
            claimed.append(db.update(claim["key"], claim["update"], condition=claim["condition"]))
        except ConditionFailed:
            continue  # cancelled, or taken by a concurrent run
    if not claimed:
        ledger.move_file(db, file, to="abandoned", was="claiming", close=True)
        return
    trace_start = ledger.reserve_traces(db, count=len(claimed))
    if not ledger.move_file(db, file, to="built", was="claiming", sets={"entryCount": len(claimed), "traceStart": trace_start}):
        _release(db, file.file_id, claimed)  # a later run took the file over (this one outlived its lease)
        return
    built = ledger.OpenFile(**{**file.__dict__, "status": "built", "entry_count": len(claimed), "trace_start": trace_start})
    _finish(db, built, claimed, rail=rail, actor=actor, resending=False)
    report.files.append(name)
    report.entries += len(claimed)


def _release(db: Dynamo, file_id: str, payments: Iterable[Item]) -> None:
    for payment in payments:
        release = items.released(payment, file_id=file_id)
        try:
            db.update(release["key"], release["update"], condition=release["condition"])
        except ConditionFailed:
            continue  # released already, or submitted


def _recover(db: Dynamo, file: ledger.OpenFile, *, rail: Rail, actor: items.Actor, report: SendReport) -> None:
    claimed = repository.claimed_payments(db, file_id=file.file_id)
    if file.status == "claiming":
        _release(db, file.file_id, claimed)
        ledger.move_file(db, file, to="abandoned", was="claiming", close=True)
        report.abandoned.append(file.name)
        logger.warning("ach file abandoned", extra={"request_id": actor.request_id, "event": "ach_file_abandoned", "file": file.name})
        return
    payments = _payments_of_file(db, file, claimed, odfi_routing=rail.originator.odfi_routing)
    if file.entry_count is None or len(payments) != file.entry_count:
        logger.warning(
            "ach file not complete in the index yet", extra={"request_id": actor.request_id, "event": "ach_file_waiting", "file": file.name}
        )
        return  # the index has not caught up with every claim: the next run finishes it
    pending = {payment["paymentId"] for payment in payments if payment["status"] == "scheduled"}
    _finish(db, file, payments, rail=rail, actor=actor, resending=True, pending=pending)
    report.recovered.append(file.name)


def _payments_of_file(db: Dynamo, file: ledger.OpenFile, claimed: list[Item], *, odfi_routing: str) -> list[Item]:
    """Every payment of a built file: those it still holds (GSI2 ACHCLAIM#<fileId>) and those an earlier run
    submitted already, found through the trace numbers reserved for the file (TRACE# items)."""
    if file.trace_start is None or file.entry_count is None or len(claimed) >= file.entry_count:
        return claimed
    held = {payment["paymentId"] for payment in claimed}
    first = file.trace_start
    traces = [trace_key(trace_number(odfi_routing, sequence)) for sequence in range(first, first + file.entry_count)]
    found = list(claimed)
    for start in range(0, len(traces), ACCOUNT_READ_CHUNK):
        links = db.batch_get(traces[start : start + ACCOUNT_READ_CHUNK], consistent=True)
        keys = [{"PK": link["paymentPK"], "SK": link["paymentSK"]} for link in links]
        found.extend(p for p in db.batch_get(keys, consistent=True) if p["paymentId"] not in held and p.get("fileId") == file.file_id)
    return found


def build(file: ledger.OpenFile, payments: list[Item], *, originator: Originator, keys: sealing.DataKeySource) -> BuiltFile:
    """The file's bytes from its claimed payments: the same payments always give the same bytes."""
    if file.trace_start is None:
        raise ValueError("a file is built only once its traces are reserved")
    entries = []
    for payment in payments:
        plain = sealing.unseal(keys=keys, binding=sealing.Binding.bank_account(payment["ownerId"], payment["bankAccountId"]), item=payment)
        entries.append(
            OutboundEntry(
                payment_id=payment["paymentId"],
                direction=payment["direction"],
                description=payment["description"],
                amount=items.amount(payment),
                routing_number=plain["routingNumber"],
                account_number=plain["accountNumber"],
                account_type=payment["accountType"],
                holder_name=payment["holderName"],
            )
        )
    return build_file(
        originator=originator,
        entries=entries,
        created_at=file.created_at,
        modifier=file.modifier,
        effective_date=date.fromisoformat(file.effective_date),
        first_trace_sequence=file.trace_start,
    )


def _finish(
    db: Dynamo,
    file: ledger.OpenFile,
    claimed: list[Item],
    *,
    rail: Rail,
    actor: items.Actor,
    resending: bool,
    pending: set[str] | None = None,
) -> None:
    built = build(file, claimed, originator=rail.originator, keys=rail.keys)
    if file.status == "built":
        rail.archive.keep(file.name, built.content)
        _upload(db, file, built, rail=rail, actor=actor, resending=resending)
        ledger.move_file(db, file, to="uploaded", was="built", sets={"debitTotal": built.debit_total, "creditTotal": built.credit_total})
    traces = {entry.payment_id: entry.trace_number for entry in built.entries}
    by_id = {payment["paymentId"]: payment for payment in claimed}
    todo = [by_id[pid] for pid in traces if pid in by_id and (pending is None or pid in pending)]
    effective = date.fromisoformat(file.effective_date)
    settle_on = settlement_date(effective, rail.window_days).isoformat()
    for start in range(0, len(todo), SUBMIT_CHUNK):
        _submit(db, todo[start : start + SUBMIT_CHUNK], file=file, traces=traces, settle_on=settle_on, actor=actor)
    sets = {"entries": len(built.entries), "debitTotal": built.debit_total, "creditTotal": built.credit_total, "sentAt": actor.at}
    ledger.move_file(db, file, to="sent", was="uploaded", sets=sets, close=True)
    logger.info(
        "ach file sent", extra={"request_id": actor.request_id, "event": "ach_file_sent", "file": file.name, "entries": len(built.entries)}
    )


class NameTaken(BankUnreachable):
    """The outbound folder holds another file under this file's name: nothing is marked sent (an operator looks;
    the run fails as for a bank it cannot complete the upload with)."""


def _upload(db: Dynamo, file: ledger.OpenFile, built: BuiltFile, *, rail: Rail, actor: items.Actor, resending: bool) -> None:
    """Upload the file; on a rerun, find out what the earlier run's upload did.

    The name already there with these very bytes: the earlier upload completed. With other bytes: someone
    else's file, an exception and no payment marked. Absent: the earlier upload failed before its rename
    (known: no alarm), or its outcome is unknown (the bank may have collected it): sent again, with an exception.
    """
    outcome_unknown = resending and file.upload_outcome != "not_renamed"
    ledger.mark_upload(db, file, "attempting")
    try:
        rail.bank.upload(file.name, built.content)
    except UploadNotRenamed:
        ledger.mark_upload(db, file, "not_renamed")
        raise
    except RemoteFileExists:
        try:
            theirs: bytes | None = rail.bank.read_outbound(file.name)
        except RemoteFileMissing:
            theirs = None  # collected by the bank since: it was there under our name
        if theirs is not None and theirs != built.content:
            detail = f"the outbound folder holds another file named {file.name}: nothing of this file is marked sent"
            ledger.keep_exception(
                db,
                exception_id=f"{file.file_id}-name-taken",
                kind="name_taken",
                at=_moment(actor),
                detail=detail,
                fileId=file.file_id,
                fileName=file.name,
            )
            logger.error(
                "ach file name taken",
                extra={"request_id": actor.request_id, "event": "ach_exception", "reason": "name_taken", "file": file.name},
            )
            raise NameTaken(file.name) from None
        return
    if outcome_unknown:
        _resent(db, file, actor)


def _moment(actor: items.Actor) -> datetime:
    return datetime.fromisoformat(actor.at.replace("Z", "+00:00"))


def _resent(db: Dynamo, file: ledger.OpenFile, actor: items.Actor) -> None:
    detail = (
        f"outbound file {file.name} was sent again after a run died with its upload's outcome unknown; the ODFI "
        "should discard the copy as a duplicate by its header: confirm with the ACH desk"
    )
    at = datetime.fromisoformat(actor.at.replace("Z", "+00:00"))
    ledger.keep_exception(
        db, exception_id=f"{file.file_id}-resent", kind="resent_file", at=at, detail=detail, fileId=file.file_id, fileName=file.name
    )
    logger.error(
        "ach file sent again", extra={"request_id": actor.request_id, "event": "ach_exception", "reason": "resent_file", "file": file.name}
    )


def _submit(db: Dynamo, payments: list[Item], *, file: ledger.OpenFile, traces: dict[str, str], settle_on: str, actor: items.Actor) -> None:
    """Mark a chunk submitted in one transaction; if any payment in it was submitted already (a concurrent finisher),
    each one goes on its own instead."""

    def operations(payment: Item) -> list[dict[str, object]]:
        return items.submitted(
            payment,
            actor,
            file_id=file.file_id,
            trace_number=traces[payment["paymentId"]],
            effective_date=file.effective_date,
            settle_on=settle_on,
        )

    try:
        repository.commit_change(db, [op for payment in payments for op in operations(payment)])
    except LostRace:
        for payment in payments:
            try:
                repository.commit_change(db, operations(payment))
            except LostRace:
                continue  # submitted by the other finisher
