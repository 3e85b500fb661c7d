"""Servicing items: the schedule as it stands and the repayments, in the loan's servicing partition.

schedule      GetItem SERVICING#<loanId> / SCHEDULE  (absent until the first repayment: then the
              schedule is the one fixed at activation, derived from the loan's terms)
repayments    Query SERVICING#<loanId>, begins_with(SK, REPAYMENT#), newest first (a page) or oldest first (all)
a repayment   ONE TransactWriteItems: the loan's operations (built by app/loans, the loan update
              first) + Put the repayment + Put the schedule + the borrower's account check
              [+ the idempotency completion]
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from app.db.dynamo import Dynamo, Page
from app.db.errors import TransactionCancelled
from app.db.expressions import NEW_ITEM, Expression, Item, Operation, tx_put
from app.db.keys import REPAYMENT, repayment_key, schedule_key, servicing_partition
from app.db.table import PARTITION_KEY, SORT_KEY
from app.errors import DomainError, LostRace
from app.servicing.errors import LoanNotActive
from app.servicing.schedule import Installment
from app.transactions import CallerCheck, commit

_FIELDS = ("amount", "principal", "interest", "balanceAfter", "paidPrincipal", "paidInterest")


def _installment_item(installment: Installment) -> dict[str, Any]:
    return {
        "number": installment.number,
        "dueDate": installment.due_date.isoformat(),
        "amount": installment.amount,
        "principal": installment.principal,
        "interest": installment.interest,
        "balanceAfter": installment.balance_after,
        "paidPrincipal": installment.paid_principal,
        "paidInterest": installment.paid_interest,
    }


def _installment_of(entry: Item) -> Installment:
    amount, principal, interest, balance, paid_principal, paid_interest = (Decimal(entry[name]) for name in _FIELDS)
    return Installment(
        int(entry["number"]), date.fromisoformat(str(entry["dueDate"])), amount, principal, interest, balance, paid_principal, paid_interest
    )


def stored_schedule(db: Dynamo, *, loan_id: str, loan_version: int) -> list[Installment] | None:
    """The schedule as the last repayment left it (one GetItem); None before any repayment.

    The loan and its schedule are read one after the other: when a repayment committed in between,
    the schedule is newer than the loan we hold (its loanVersion is higher) and LostRace asks the
    caller to read both again, so a rule never mixes two states of one loan.
    """
    item = db.get(schedule_key(loan_id))
    if item is None:
        return None
    if int(item["loanVersion"]) > loan_version:
        raise LostRace()
    return [_installment_of(entry) for entry in item["installments"]]


def repayment_page(db: Dynamo, *, loan_id: str, caller_id: str, limit: int, cursor: str | None) -> Page:
    """A page of the loan's repayment items, newest first (ids are UUIDv7); its cursor is `caller_id`'s only."""
    condition = Expression(
        "#pk = :pk AND begins_with(#sk, :repayment)",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": servicing_partition(loan_id), ":repayment": REPAYMENT},
    )
    return db.query(condition, newest_first=True, limit=limit, cursor=cursor, caller=caller_id)


def all_repayments(db: Dynamo, *, loan_id: str) -> list[Item]:
    """Every repayment item of the loan, oldest first (one strongly consistent Query, following 1 MB pages)."""
    condition = Expression(
        "#pk = :pk AND begins_with(#sk, :repayment)",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": servicing_partition(loan_id), ":repayment": REPAYMENT},
    )
    return db.query_all(condition, consistent=True)


def repayment_item(*, loan_id: str, repayment_id: str, fields: Item) -> Item:
    return {**repayment_key(loan_id, repayment_id), "entity": "repayment", "repaymentId": repayment_id, "loanId": loan_id, **fields}


def commit_repayment(
    db: Dynamo,
    *,
    loan_operations: list[Operation],
    repayment: Item,
    loan_id: str,
    loan_version: int,
    installments: list[Installment],
    installment_amount: Decimal,
    caller_check: CallerCheck,
    completion: Operation | None,
) -> None:
    """ONE transaction; LoanNotActive if the loan left `active`, LostRace if another repayment got there first,
    `caller_check`'s error (401) if the borrower's account is gone."""
    schedule = {
        **schedule_key(loan_id),
        "entity": "schedule",
        "loanId": loan_id,
        "installmentAmount": installment_amount,
        "loanVersion": loan_version,  # the loan's version once this transaction commits
        "installments": [_installment_item(installment) for installment in installments],
    }
    operations = [*loan_operations, tx_put(repayment, NEW_ITEM), tx_put(schedule)]
    commit(db, operations, refusal=_refusal, caller_check=caller_check, completion=completion)


def _refusal(exc: TransactionCancelled) -> DomainError | None:
    """The loan (the first operation) left `active`, or another repayment committed first (a lost race)."""
    if not exc.failed(0):
        return None
    loan = exc.items[0]
    return LoanNotActive() if loan is None or loan.get("status") != "active" else LostRace()
