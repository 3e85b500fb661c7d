"""What operators see of the rail: files, payments by status and kind, and the exceptions the jobs kept.

Each list is one or a few Queries on GSI1 (ACHFILES, ACHEXCEPTIONS: newest first) or GSI2 (ACHPAY#<status>,
newest first by the date that matters to the status). Without a status filter the payments of every status
are listed a status at a time (scheduled, submitted, returned, settled, cancelled); the cursor says which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db.errors import InvalidCursor
from app.db.expressions import Expression
from app.payments import items, ledger, repository
from app.payments.schemas import (
    AchException,
    AchExceptionPage,
    AchFile,
    AchFilePage,
    PaymentKind,
    PaymentPage,
    PaymentStatus,
    amount_of,
)

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

START = "start"  # a cursor's inner part meaning "from the first payment of this status"
STATUS_ORDER: tuple[str, ...] = ("scheduled", "submitted", "returned", "settled", "cancelled")


def files(*, db: Dynamo, caller: str, limit: int, cursor: str | None) -> AchFilePage:
    page = ledger.file_page(db, caller=caller, limit=limit, cursor=cursor)
    return AchFilePage(items=[_file(item) for item in page.items], next_cursor=page.next_cursor)


def _file(item: Item) -> AchFile:
    return AchFile(
        name=item["name"],
        direction=item["direction"],
        status=item["status"],
        created_at=item["createdAt"],
        entries=int(item.get("entries", 0)),
        debit_total=amount_of(item.get("debitTotal", 0)),
        credit_total=amount_of(item.get("creditTotal", 0)),
    )


def exceptions(*, db: Dynamo, caller: str, limit: int, cursor: str | None) -> AchExceptionPage:
    page = ledger.exception_page(db, caller=caller, limit=limit, cursor=cursor)
    return AchExceptionPage(items=[_exception(item) for item in page.items], next_cursor=page.next_cursor)


def _exception(item: Item) -> AchException:
    return AchException(
        exception_id=item["exceptionId"],
        kind=item["kind"],
        detail=item["detail"],
        created_at=item["createdAt"],
        file_name=item.get("fileName") or item.get("fileId"),
        trace_number=item.get("traceNumber"),
        original_trace=item.get("originalTrace"),
        payment_id=item.get("paymentId"),
        return_code=item.get("returnCode"),
        change_code=item.get("changeCode"),
        amount=amount_of(item["amount"]) if "amount" in item else None,
    )


def payments(
    *, db: Dynamo, caller: str, status: PaymentStatus | None, kind: PaymentKind | None, limit: int, cursor: str | None
) -> PaymentPage:
    """Newest first within a status; with no status, every status in STATUS_ORDER, one after the other."""
    statuses = [status] if status else list(STATUS_ORDER)
    position, inner = 0, cursor
    if cursor is not None and status is None:
        prefix, _, inner = cursor.partition(".")
        if prefix not in STATUS_ORDER or not inner:
            raise InvalidCursor("not a cursor of this list")
        position = STATUS_ORDER.index(prefix)
    if inner == START:
        inner = None
    where = Expression("#kind = :kind", names={"#kind": "kind"}, values={":kind": kind}) if kind else None
    found: list[Item] = []
    while position < len(statuses):
        page = repository.payments_in_status(
            db, status=statuses[position], limit=limit - len(found), cursor=inner, caller=caller, where=where, newest_first=True
        )
        found.extend(page.items)
        inner = page.next_cursor
        if inner is not None:
            break  # the page is full inside this status
        position += 1
        if len(found) >= limit:
            break
    next_cursor: str | None = None
    if position < len(statuses):
        next_cursor = inner if status else f"{statuses[position]}.{inner or START}"
    return PaymentPage(items=[items.payment_public(item) for item in found], next_cursor=next_cursor)
