"""The rail's own items: ACH files (outbound and inbound), the trace and File ID Modifier counters, and exceptions.

An outbound file item goes claiming -> built -> uploaded -> sent (or claiming -> abandoned) and sits in
GSI2 ACHFILES#open until it is sent or abandoned, so a send job that crashed anywhere is finished (or
undone) by the next run: its lease says until when the run that opened it may still be working on it.
An inbound file item is written once, processed or rejected, with the digest of its content, which a
second drop of the same bytes finds. Exceptions are kept for operators (no TTL); their ids are derived
from what they are about, so a job that runs again never lists one twice.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.clock import iso
from app.db.errors import ConditionFailed, TransactionCancelled
from app.db.expressions import NEW_ITEM, Expression, Item, tx_put
from app.db.keys import (
    ACH_EXCEPTIONS,
    ACH_FILES,
    ACH_OPEN_FILES,
    ach_exception_key,
    ach_file_key,
    files_of_day_key,
    inbound_digest_key,
    open_file_keys,
    trace_sequence_key,
)
from app.db.table import DEADLINE_INDEX, DEADLINE_PARTITION, DEADLINE_SORT, GSI1_NAME, SORT_KEY

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo, Page

LEASE = timedelta(minutes=15)  # a send run finishes its file well within this (the jobs function times out first)
GSI2 = f"{DEADLINE_PARTITION}, {DEADLINE_SORT}"
STATUS = {"#status": "status"}


@dataclass(frozen=True)
class OpenFile:
    """An outbound file being made: the moment and modifier its bytes depend on, and once built its trace range."""

    file_id: str
    name: str
    created_at: datetime
    modifier: str
    effective_date: str
    status: str
    lease_until: str
    entry_count: int | None = None
    trace_start: int | None = None
    upload_outcome: str | None = None  # "attempting" while an upload is under way, "not_renamed" after one that surely failed

    @classmethod
    def of(cls, item: Item) -> OpenFile:
        return cls(
            file_id=item["fileId"],
            name=item["name"],
            created_at=datetime.fromisoformat(item["createdAtExact"]),
            modifier=item["modifier"],
            effective_date=item["effectiveDate"],
            status=item["status"],
            lease_until=item["leaseUntil"],
            entry_count=int(item["entryCount"]) if "entryCount" in item else None,
            trace_start=int(item["traceStart"]) if "traceStart" in item else None,
            upload_outcome=item.get("uploadOutcome"),
        )


def next_modifier_index(db: Dynamo, *, day: str) -> int:
    """The index (from 0) of the next outbound file of the day `day` (YYYYMMDD): an atomic counter."""
    item = db.update(files_of_day_key(day), Expression("ADD files :one SET entity = :entity", values={":one": 1, ":entity": "ach_counter"}))
    return int(item["files"]) - 1


def reserve_traces(db: Dynamo, *, count: int) -> int:
    """The first of `count` trace sequences nobody else ever gets (a gap if the caller dies before using them)."""
    item = db.update(
        trace_sequence_key(),
        Expression("ADD #next :count SET entity = :entity", names={"#next": "next"}, values={":count": count, ":entity": "ach_counter"}),
    )
    return int(item["next"]) - count + 1


def open_outbound_file(db: Dynamo, *, file_id: str, name: str, created_at: datetime, modifier: str, effective_date: str) -> OpenFile:
    lease_until = iso(created_at + LEASE)
    item = {
        **ach_file_key(file_id),
        **open_file_keys(file_id),
        "entity": "ach_file",
        "fileId": file_id,
        "name": name,
        "direction": "outbound",
        "status": "claiming",
        "createdAt": iso(created_at),
        "createdAtExact": created_at.isoformat(),
        "modifier": modifier,
        "effectiveDate": effective_date,
        "leaseUntil": lease_until,
    }
    db.put(item, condition=NEW_ITEM)
    return OpenFile.of(item)


def open_files(db: Dynamo) -> list[OpenFile]:
    """Outbound files not yet sent nor abandoned (GSI2 ACHFILES#open), oldest first."""
    condition = Expression("#gpk = :open", names={"#gpk": DEADLINE_PARTITION}, values={":open": ACH_OPEN_FILES})
    return [OpenFile.of(item) for item in db.query_all(condition, index=DEADLINE_INDEX)]


def move_file(db: Dynamo, file: OpenFile, *, to: str, was: str, sets: dict[str, Any] | None = None, close: bool = False) -> bool:
    """The file `was` -> `to` (with `sets`); False when another run moved it first. `close` takes it out of the open files."""
    sets = sets or {}
    names = {**STATUS, **{f"#a{i}": name for i, name in enumerate(sets)}}
    values: dict[str, Any] = {":to": to, ":was": was, **{f":a{i}": value for i, value in enumerate(sets.values())}}
    text = "SET #status = :to" + "".join(f", #a{i} = :a{i}" for i in range(len(sets))) + (f" REMOVE {GSI2}" if close else "")
    try:
        db.update(
            ach_file_key(file.file_id),
            Expression(text, names=names, values=values),
            condition=Expression("#status = :was", names=STATUS, values={":was": was}),
        )
    except ConditionFailed:
        return False
    return True


def mark_upload(db: Dynamo, file: OpenFile, outcome: str) -> None:
    """What is known of the file's last upload: "attempting" (unknown if the run dies), or "not_renamed"."""
    db.update(ach_file_key(file.file_id), Expression("SET uploadOutcome = :outcome", values={":outcome": outcome}))


def record_inbound_file(
    db: Dynamo,
    *,
    file_id: str,
    name: str,
    at: datetime,
    status: str,
    digest: str,
    totals: tuple[int, Decimal, Decimal],
    reason: str | None = None,
) -> None:
    """ONE transaction: the inbound file (processed or rejected), the marker of its content, and for a rejected
    file its exception. Once: a rerun over the same file finds the marker and changes nothing."""
    entries, debit_total, credit_total = totals
    item = {
        **ach_file_key(file_id),
        "entity": "ach_file",
        "fileId": file_id,
        "name": name,
        "direction": "inbound",
        "status": status,
        "createdAt": iso(at),
        "digest": digest,
        "entries": entries,
        "debitTotal": debit_total,
        "creditTotal": credit_total,
        **({"reason": reason} if reason else {}),
    }
    marker = {**inbound_digest_key(digest), "entity": "ach_inbound_digest", "fileId": file_id, "status": status, "at": iso(at)}
    operations = [tx_put(item, NEW_ITEM), tx_put(marker, NEW_ITEM)]
    if status == "rejected":
        detail = f"inbound file {name} does not parse and was moved to rejected/ whole: {reason}"
        operations.append(
            tx_put(
                exception_item(f"{file_id}-rejected", kind="rejected_file", at=at, detail=detail, fileId=file_id, fileName=name), NEW_ITEM
            )
        )
    with suppress(TransactionCancelled):  # recorded by an earlier run over the same file
        db.transact_write(operations)


def inbound_seen(db: Dynamo, *, digest: str) -> Item | None:
    """The marker of a file with this content, if one was processed or rejected before."""
    return db.get(inbound_digest_key(digest))


def file_page(db: Dynamo, *, caller: str, limit: int, cursor: str | None) -> Page:
    """Sent, processed and rejected files, newest first (GSI1 ACHFILES)."""
    condition = Expression("#gsiPartition = :files", names={"#gsiPartition": SORT_KEY}, values={":files": ACH_FILES})
    where = Expression(
        "#status IN (:sent, :processed, :rejected)",
        names=STATUS,
        values={":sent": "sent", ":processed": "processed", ":rejected": "rejected"},
    )
    return db.query(condition, index=GSI1_NAME, where=where, newest_first=True, limit=limit, cursor=cursor, caller=caller)


def exception_item(exception_id: str, *, kind: str, at: datetime, detail: str, **facts: Any) -> Item:
    """An exception for operators. Never an account number in `detail` or `facts`."""
    return {
        **ach_exception_key(exception_id),
        "entity": "ach_exception",
        "exceptionId": exception_id,
        "kind": kind,
        "detail": detail,
        "createdAt": iso(at),
        **{name: value for name, value in facts.items() if value is not None},
    }


def keep_exception(db: Dynamo, *, exception_id: str, kind: str, at: datetime, detail: str, **facts: Any) -> bool:
    """Keep an exception once per id (a rerun finds it there); True when it is new."""
    try:
        db.put(exception_item(exception_id, kind=kind, at=at, detail=detail, **facts), condition=NEW_ITEM)
    except ConditionFailed:
        return False
    return True


def exception_page(db: Dynamo, *, caller: str, limit: int, cursor: str | None) -> Page:
    """Every exception, newest first (GSI1 ACHEXCEPTIONS)."""
    condition = Expression("#gsiPartition = :exceptions", names={"#gsiPartition": SORT_KEY}, values={":exceptions": ACH_EXCEPTIONS})
    return db.query(condition, index=GSI1_NAME, newest_first=True, limit=limit, cursor=cursor, caller=caller)
