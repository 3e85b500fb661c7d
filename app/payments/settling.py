"""The settle job's rules: a submitted payment with no return by its settlement day is settled; an account
pending verification past its verify-by moment fails.

Both are found through GSI2 and each change is one transaction (with its event), conditioned on the item
still being as read, so overlapping runs change nothing twice: ACHPAY#submitted up to today (US Eastern)
sorted by settlement day, and VERIFYBY#<shard> up to now. The index is read eventually consistently: an
item is read again (GetItem, consistent) before its transaction when the index may be behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.clock import iso
from app.db.expressions import Expression
from app.db.keys import FUNDING_SHARDS, verification_partition
from app.db.table import DEADLINE_INDEX, DEADLINE_PARTITION, DEADLINE_SORT
from app.errors import LostRace
from app.money.calendar import eastern_date
from app.payments import items, repository
from app.payments.bank_accounts import verification_expired

if TYPE_CHECKING:
    from app.clock import Clock
    from app.db.dynamo import Dynamo

logger = logging.getLogger("app.payments")

JOB_ACTOR = "job:ach_settle"


@dataclass
class SettleReport:
    settled: int = 0
    verifications_failed: int = 0


def settle_due(*, db: Dynamo, clock: Clock, request_id: str) -> SettleReport:
    report = SettleReport()
    now = clock.now().replace(microsecond=0)
    actor = items.Actor(actor_id=JOB_ACTOR, at=iso(now), request_id=request_id)
    today = eastern_date(now).isoformat()
    cursor: str | None = None
    while True:
        page = repository.payments_in_status(db, status="submitted", up_to=today, limit=500, cursor=cursor)
        for payment in page.items:
            try:
                repository.commit_change(db, items.settled(payment, actor))
            except LostRace:
                continue  # returned or settled meanwhile
            report.settled += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    for shard in range(FUNDING_SHARDS):
        condition = Expression(
            "#gpk = :partition AND #gsk <= :now",
            names={"#gpk": DEADLINE_PARTITION, "#gsk": DEADLINE_SORT},
            values={":partition": verification_partition(shard), ":now": f"{actor.at}#~"},
        )
        for listed in db.query_all(condition, index=DEADLINE_INDEX):
            account = repository.bank_account(db, user_id=listed["userId"], bank_account_id=listed["bankAccountId"])
            if account is None or not verification_expired(account, now):
                continue
            try:
                repository.commit_change(db, items.failed(account, actor, reason="not_verified_in_time"))
            except LostRace:
                continue
            report.verifications_failed += 1
    logger.info("ach settle run", extra={"request_id": request_id, "event": "ach_settle_run", "settled": report.settled})
    return report
