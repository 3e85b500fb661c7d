"""Bank account and payment items in and out of the table; a refused transaction becomes a domain error here.

Access patterns (docs/data-model.md has the calls of every endpoint and job):
  a user's bank accounts          Query PK = USER#<id>, begins_with(SK, BANK#) (consistent)
  one bank account                GetItem USER#<userId> / BANK#<id>
  the duplicate-check lock        GetItem USER#<userId> / BANKLAST4#<r4>#<a4>
  a loan's or an account's payments  Query GSI1 SK = PAYS#LOAN#<loanId> (or PAYS#BANK#<id>), newest first
  payments by status              Query GSI2 GSI2PK = ACHPAY#<status>, GSI2SK <= <date>#~ (the jobs; operators)
  a file's claimed payments       Query GSI2 GSI2PK = ACHCLAIM#<fileId>
  accounts past their verify-by   Query GSI2 GSI2PK = VERIFYBY#<shard>, GSI2SK < <now>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.db.errors import TransactionCancelled
from app.db.expressions import NEW_ITEM, Expression, Item, Operation, tx_put
from app.db.keys import (
    BANK,
    bank_account_key,
    bank_numbers_lock_key,
    payment_claim_partition,
    payment_owner,
    payment_status_partition,
    user_partition,
)
from app.db.table import DEADLINE_INDEX, DEADLINE_PARTITION, DEADLINE_SORT, GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.errors import LostRace
from app.transactions import CallerCheck, commit

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo, Page


def bank_account(db: Dynamo, *, user_id: str, bank_account_id: str) -> Item | None:
    return db.get(bank_account_key(user_id, bank_account_id))


def bank_accounts_of(db: Dynamo, *, user_id: str) -> list[Item]:
    """Every bank account the user ever registered (closed ones included), oldest first."""
    condition = Expression(
        "#pk = :pk AND begins_with(#sk, :bank)",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": user_partition(user_id), ":bank": BANK},
    )
    return db.query_all(condition, consistent=True)


def bank_account_page(db: Dynamo, *, user_id: str, limit: int, cursor: str | None) -> Page:
    """A page of the user's bank accounts that are not closed, newest first."""
    condition = Expression(
        "#pk = :pk AND begins_with(#sk, :bank)",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": user_partition(user_id), ":bank": BANK},
    )
    where = Expression("#status <> :closed", names={"#status": "status"}, values={":closed": "closed"})
    return db.query(condition, where=where, newest_first=True, limit=limit, cursor=cursor, caller=user_id, consistent=True)


def numbers_lock(db: Dynamo, *, user_id: str, last4s: tuple[str, str]) -> tuple[Item, Operation]:
    """The lock item of these last-4s and the operation that takes it (the next version, only if unchanged since read)."""
    key = bank_numbers_lock_key(user_id, *last4s)
    current = db.get(key)
    version = int(current["version"]) if current else 0
    item = {**key, "entity": "bank_numbers_lock", "version": version + 1}
    condition = NEW_ITEM if current is None else Expression("version = :read", values={":read": version})
    return item, tx_put(item, condition)


def commit_change(db: Dynamo, operations: Sequence[Operation], *, caller_check: CallerCheck | None = None) -> None:
    """One transaction of a bank account or its payments; any refusal means the data moved under us (LostRace)."""
    commit(db, operations, refusal=_lost_race, caller_check=caller_check)


def _lost_race(exc: TransactionCancelled) -> Exception:
    return LostRace()


def payments_of_owner(
    db: Dynamo, *, loan_id: str | None, bank_account_id: str, caller: str, limit: int, cursor: str | None, where: Expression | None = None
) -> Page:
    """A page of a loan's (or, with no loan, an account's) payments, newest first."""
    condition = Expression(
        "#gsiPartition = :owner",
        names={"#gsiPartition": SORT_KEY},
        values={":owner": payment_owner(loan_id=loan_id, bank_account_id=bank_account_id)},
    )
    return db.query(condition, index=GSI1_NAME, where=where, newest_first=True, limit=limit, cursor=cursor, caller=caller)


def payments_in_status(
    db: Dynamo,
    *,
    status: str,
    up_to: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    caller: str | None = None,
    where: Expression | None = None,
    newest_first: bool = False,
) -> Page:
    """Payments in `status` (GSI2 ACHPAY#<status>), by their date; with `up_to`, only those dated on or before it."""
    text = "#gpk = :partition"
    values: dict[str, str] = {":partition": payment_status_partition(status)}
    if up_to is not None:
        text += " AND #gsk <= :upTo"
        values[":upTo"] = f"{up_to}#~"  # "~" sorts after every payment id
    condition = Expression(text, names={"#gpk": DEADLINE_PARTITION, **({"#gsk": DEADLINE_SORT} if up_to else {})}, values=values)
    return db.query(condition, index=DEADLINE_INDEX, where=where, limit=limit, cursor=cursor, caller=caller, newest_first=newest_first)


def claimed_payments(db: Dynamo, *, file_id: str) -> list[Item]:
    """Every payment an outbound file holds, by payment id (GSI2 ACHCLAIM#<fileId>)."""
    condition = Expression("#gpk = :partition", names={"#gpk": DEADLINE_PARTITION}, values={":partition": payment_claim_partition(file_id)})
    return db.query_all(condition, index=DEADLINE_INDEX)
