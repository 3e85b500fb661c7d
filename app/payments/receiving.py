"""The receive job's rules: the ODFI's return and notification-of-change files, each applied exactly once.
Longer than 250 lines because every rule a return or a change entry is judged by (match, once, late, retry,
refused, unmatched) is here in one place, as the ODFI's desk reads them.

For every file in the inbound folder (by name): its content's digest is looked up first, so a file dropped
twice is applied once (and moved to processed/ again). A file that does not parse, or holds an entry that
is neither a return nor a change, is rejected whole: nothing of it is applied, it is recorded with an
exception and moved to rejected/. Otherwise each return and change is matched by its original trace
number (TRACE#<trace>) and applied in its own transaction, whose conditions make a second application a
no-op (a returned payment is not returned again); only then is the file recorded and moved to processed/,
so a run that dies midway is finished by the next one. What cannot be matched becomes an exception.

A return: submitted -> returned with its code (or settled -> returned for the unauthorised codes R05, R07,
R10, R11, R29 up to 60 days after settlement, listed for operators as late returns); R01/R09 schedule the
same amount again (attempt + 1, RETRY PYMT) for the first file on or after the next banking day, at most
twice. A returned micro-deposit fails its account. A change (C01 account, C02 routing, C03 both, C05
account type) updates the account the entry went to: its numbers are sealed again, their last-4s updated.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.ach.notices import ChangeNotice, ReturnNotice, read_notices
from app.ach.parser import parse_file
from app.ach.records import NachaError
from app.ach.remote import RemoteFile, RemoteFileMissing
from app.clock import iso
from app.db.keys import bank_account_key, trace_key
from app.errors import LostRace
from app.money.calendar import eastern_date, next_banking_day
from app.money.routing import valid_routing_number
from app.payments import items, ledger, repository, sealing

if TYPE_CHECKING:
    from app.ach.transport import BankSession
    from app.clock import Clock
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item, Operation

logger = logging.getLogger("app.payments")

RETRIED_CODES = frozenset({"R01", "R09"})  # insufficient / uncollected funds: worth presenting again
UNAUTHORISED_CODES = frozenset({"R05", "R07", "R10", "R11", "R29"})
LATE_RETURN_DAYS = 60
JOB_ACTOR = "job:ach_receive"


@dataclass
class ReceiveReport:
    processed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    returns: int = 0
    changes: int = 0
    retries: int = 0
    unmatched: int = 0


def receive_inbound_files(*, db: Dynamo, clock: Clock, keys: sealing.DataKeySource, bank: BankSession, request_id: str) -> ReceiveReport:
    """Read every inbound file, apply it once, move it to processed/ or rejected/."""
    report = ReceiveReport()
    for remote in bank.list_inbound():
        try:
            _one_file(db, remote, clock=clock, keys=keys, bank=bank, request_id=request_id, report=report)
        except RemoteFileMissing:
            report.vanished.append(remote.name)  # an overlapping run moved it first: it is that run's
    return report


def _one_file(
    db: Dynamo, remote: RemoteFile, *, clock: Clock, keys: sealing.DataKeySource, bank: BankSession, request_id: str, report: ReceiveReport
) -> None:
    now = clock.now().replace(microsecond=0)
    actor = items.Actor(actor_id=JOB_ACTOR, at=iso(now), request_id=request_id)
    content = bank.read_inbound(remote.name)
    digest = hashlib.sha256(content).hexdigest()
    seen = ledger.inbound_seen(db, digest=digest)
    if seen is not None:
        bank.move_inbound(remote.name, "processed" if seen["status"] == "processed" else "rejected")
        report.duplicates.append(remote.name)
        return
    file_id = f"{remote.mtime:%Y%m%d-%H%M%S}-in-{digest[:12]}"
    _receive(db, remote, content, digest=digest, file_id=file_id, keys=keys, bank=bank, actor=actor, now=now, report=report)


def _receive(
    db: Dynamo,
    remote: RemoteFile,
    content: bytes,
    *,
    digest: str,
    file_id: str,
    keys: sealing.DataKeySource,
    bank: BankSession,
    actor: items.Actor,
    now: datetime,
    report: ReceiveReport,
) -> None:
    try:
        parsed = parse_file(content)
        notices = read_notices(parsed)
    except NachaError as exc:
        ledger.record_inbound_file(
            db,
            file_id=file_id,
            name=remote.name,
            at=now,
            status="rejected",
            digest=digest,
            totals=(0, Decimal(0), Decimal(0)),
            reason=str(exc),
        )
        bank.move_inbound(remote.name, "rejected")
        report.rejected.append(remote.name)
        logger.error(
            "ach file rejected",
            extra={"request_id": actor.request_id, "event": "ach_file_rejected", "file": remote.name, "reason": str(exc)},
        )
        return
    for notice in notices.returns:
        outcome = apply_return(db, notice, file_id=file_id, actor=actor, now=now)
        report.returns += outcome == "returned" or outcome == "retried"
        report.retries += outcome == "retried"
        report.unmatched += outcome == "unmatched"
    for change in notices.changes:
        outcome = apply_change(db, change, file_id=file_id, keys=keys, actor=actor, now=now)
        report.changes += outcome == "changed"
        report.unmatched += outcome == "unmatched"
    totals = (len(parsed.entries), parsed.debit_total, parsed.credit_total)
    ledger.record_inbound_file(db, file_id=file_id, name=remote.name, at=now, status="processed", digest=digest, totals=totals)
    bank.move_inbound(remote.name, "processed")
    report.processed.append(remote.name)
    logger.info(
        "ach file processed",
        extra={"request_id": actor.request_id, "event": "ach_file_processed", "file": remote.name, "entries": totals[0]},
    )


def _payment_of_trace(db: Dynamo, trace_number: str) -> Item | None:
    trace = db.get(trace_key(trace_number))
    if trace is None:
        return None
    return db.get({"PK": trace["paymentPK"], "SK": trace["paymentSK"]})


def _unmatched(db: Dynamo, *, file_id: str, entry_trace: str, kind: str, now: datetime, actor: items.Actor, **facts: Any) -> str:
    detail = f"{kind.replace('_', ' ')}: no payment of ours has trace number {facts.get('originalTrace')}"
    ledger.keep_exception(
        db, exception_id=f"{file_id}-{entry_trace}", kind=kind, at=now, detail=detail, fileId=file_id, traceNumber=entry_trace, **facts
    )
    logger.error(
        "ach entry unmatched",
        extra={"request_id": actor.request_id, "event": "ach_unmatched_entry", "file_id": file_id, "trace": entry_trace},
    )
    return "unmatched"


def apply_return(db: Dynamo, notice: ReturnNotice, *, file_id: str, actor: items.Actor, now: datetime) -> str:
    """returned | retried | duplicate | unmatched | refused (a return that may not apply any more: an exception)."""

    def attempt() -> str:
        payment = _payment_of_trace(db, notice.original_trace)
        if payment is None:
            return _unmatched(
                db, file_id=file_id, entry_trace=notice.trace_number, kind="unmatched_return", now=now, actor=actor,
                originalTrace=notice.original_trace, returnCode=notice.return_code, amount=notice.amount,
            )  # fmt: skip
        if payment["status"] == "returned":
            return "duplicate"
        late = payment["status"] == "settled"
        if payment["status"] != "submitted" and not (late and _late_return_allowed(payment, notice.return_code, now)):
            detail = f"return {notice.return_code} for payment {payment['paymentId']} ({payment['status']}) cannot apply any more"
            ledger.keep_exception(
                db, exception_id=f"{file_id}-{notice.trace_number}", kind="return_refused", at=now, detail=detail, fileId=file_id,
                paymentId=payment["paymentId"], returnCode=notice.return_code, originalTrace=notice.original_trace,
            )  # fmt: skip
            return "refused"
        operations, outcome = _return_operations(db, payment, notice, actor=actor, now=now, late=late)
        repository.commit_change(db, operations)
        if late:
            detail = f"unauthorised return {notice.return_code} after settlement of payment {payment['paymentId']}"
            ledger.keep_exception(
                db, exception_id=f"{file_id}-{notice.trace_number}", kind="late_return", at=now, detail=detail, fileId=file_id,
                paymentId=payment["paymentId"], returnCode=notice.return_code, amount=payment["amount"],
            )  # fmt: skip
        return outcome

    return _retrying(attempt)


def _retrying(step: Any) -> str:
    """A lost race (a concurrent run applied the same notice, or the account moved) is decided again from a fresh read."""
    for _ in range(5):
        try:
            return str(step())
        except LostRace:
            continue
    raise LostRace()


def _late_return_allowed(payment: Item, code: str, now: datetime) -> bool:
    settled_at = payment.get("settledAt")
    return code in UNAUTHORISED_CODES and settled_at is not None and iso(now - timedelta(days=LATE_RETURN_DAYS)) <= settled_at


def _return_operations(
    db: Dynamo, payment: Item, notice: ReturnNotice, *, actor: items.Actor, now: datetime, late: bool
) -> tuple[list[Operation], str]:
    if payment["kind"] == "verification":
        account = db.get(bank_account_key(payment["ownerId"], payment["bankAccountId"]))
        operations = items.returned(payment, actor, return_code=notice.return_code, late=late, counted=False)
        if account is not None and account["status"] in ("pending_verification", "verified"):
            operations.extend(items.failed(account, actor, reason="micro_deposit_returned", open_delta=-1 if not late else 0))
        elif not late:
            operations.append(items.open_payments_delta(payment["ownerId"], payment["bankAccountId"], -1))
        return operations, "returned"
    attempt = int(payment.get("attempt", 1))
    if notice.return_code in RETRIED_CODES and attempt < items.MAX_ATTEMPTS and not late:
        account = {"userId": payment["ownerId"], "bankAccountId": payment["bankAccountId"]}
        retry = items.new_payment(
            kind=payment["kind"],
            direction=payment["direction"],
            amount=items.amount(payment),
            account=account,
            loan_id=payment.get("loanId"),
            at=actor.at,
            not_before=next_banking_day(eastern_date(now)).isoformat(),
            attempt=attempt + 1,
            retry_of=payment["paymentId"],
        )
        operations = items.returned(payment, actor, return_code=notice.return_code, late=False, counted=False)
        return [*operations, *items.scheduled(retry, actor, counted=False)], "retried"  # one open payment for another
    return items.returned(payment, actor, return_code=notice.return_code, late=late), "returned"


ACCOUNT_NUMBER = re.compile(r"^[0-9]{4,17}$")


def _corrected_data_fits(notice: ChangeNotice) -> bool:
    """A corrected account number must be one we accept from a person (4..17 digits), a routing number a valid ABA one."""
    if notice.account_number is not None and not ACCOUNT_NUMBER.match(notice.account_number):
        return False
    if notice.routing_number is not None:
        try:
            valid_routing_number(notice.routing_number)
        except ValueError:
            return False
    return True


CHANGED_FIELDS = {"C01": ("accountNumber",), "C02": ("routingNumber",), "C03": ("routingNumber", "accountNumber"), "C05": ()}


def apply_change(db: Dynamo, notice: ChangeNotice, *, file_id: str, keys: sealing.DataKeySource, actor: items.Actor, now: datetime) -> str:
    """changed | unmatched | ignored (a change code we do not act on: an exception for the desk)."""
    payment = _payment_of_trace(db, notice.original_trace)
    if payment is None:
        return _unmatched(
            db, file_id=file_id, entry_trace=notice.trace_number, kind="unmatched_change", now=now, actor=actor,
            originalTrace=notice.original_trace, changeCode=notice.change_code,
        )  # fmt: skip
    account = db.get(bank_account_key(payment["ownerId"], payment["bankAccountId"]))
    if account is None or notice.change_code not in CHANGED_FIELDS:
        detail = f"change {notice.change_code} for payment {payment['paymentId']} was not applied"
        ledger.keep_exception(
            db, exception_id=f"{file_id}-{notice.trace_number}", kind="change_ignored", at=now, detail=detail, fileId=file_id,
            paymentId=payment["paymentId"], changeCode=notice.change_code,
        )  # fmt: skip
        return "ignored"
    if not _corrected_data_fits(notice):
        detail = f"change {notice.change_code} for payment {payment['paymentId']} carries corrected data that is not a valid number"
        ledger.keep_exception(
            db, exception_id=f"{file_id}-{notice.trace_number}", kind="change_ignored", at=now, detail=detail, fileId=file_id,
            paymentId=payment["paymentId"], changeCode=notice.change_code,
        )  # fmt: skip
        return "ignored"
    changes: dict[str, Any] = {}
    if notice.change_code == "C05":
        changes["accountType"] = notice.account_type
    else:
        binding = sealing.Binding.bank_account(account["userId"], account["bankAccountId"])
        plain = sealing.unseal(keys=keys, binding=binding, item=account)
        routing = notice.routing_number or plain["routingNumber"]
        number = notice.account_number or plain["accountNumber"]
        sealed = sealing.seal(keys=keys, binding=binding, routing_number=routing, account_number=number)
        changes = {**sealed, "routingLast4": sealing.last4(routing), "accountLast4": sealing.last4(number)}
    repository.commit_change(db, items.numbers_changed(account, actor, changes=changes, change_code=notice.change_code))
    return "changed"
