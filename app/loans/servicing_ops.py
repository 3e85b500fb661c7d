"""The loan's part of a repayment transaction: its figures, each accepted lender's totals, the audit events.

Private to app/loans/repository.py (like transitions.py); app/servicing commits these with its own items.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.clock import uuid7
from app.db.expressions import EXISTING_ITEM, Expression, Operation, tx_update
from app.db.keys import invitation_key, loan_key, reminder_keys
from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT
from app.loans.records import LoanRecord
from app.loans.transitions import Actor, event_ops


@dataclass(frozen=True)
class LenderFigures:
    """An accepted lender's running totals after a repayment."""

    principal_repaid: Decimal
    interest_paid: Decimal
    outstanding_principal: Decimal


@dataclass(frozen=True)
class Servicing:
    """What a repayment changes on the loan: its outstanding principal, next payment, lenders' totals, repaid or not."""

    amount: Decimal
    outstanding_principal: Decimal
    next_due: tuple[str, Decimal] | None  # (ISO date, amount still owed on it); None once repaid
    lenders: dict[str, LenderFigures]  # by email
    repaid: bool
    repayment_id: str = ""
    # each accepted lender's share: {lenderId, email, principal, interest, outstandingPrincipal (after)}, for their email
    shares: tuple[dict[str, Any], ...] = ()


def repayment(record: LoanRecord, actor: Actor, servicing: Servicing) -> list[Operation]:
    """The loan's figures, each accepted lender's totals (loan item and invitation) and the audit events.

    The loan update is first and is conditioned on the loan being active at the version we read, so
    two repayments serialise: the second re-reads and allocates on the figures the first left.
    """
    loan_id = record.loan_id
    sets = ["outstandingPrincipal = :outstanding"]
    values: dict[str, Any] = {
        ":outstanding": servicing.outstanding_principal,
        ":one": 1,
        ":active": "active",
        ":version": record.loan["version"],
    }
    removes: list[str] = []
    if servicing.next_due is None:
        removes += ["nextDueDate", "nextDueAmount"]
    else:
        sets += ["nextDueDate = :nextDueDate", "nextDueAmount = :nextDueAmount"]
        values.update({":nextDueDate": servicing.next_due[0], ":nextDueAmount": servicing.next_due[1]})
    if servicing.repaid:
        sets += ["#status = :repaid", "repaidAt = :at"]
        values.update({":repaid": "repaid", ":at": actor.at})
        removes += [DEADLINE_PARTITION, DEADLINE_SORT]  # nothing left to remind
    else:  # a loan activated before reminders existed joins them with its first repayment since
        keys = reminder_keys(loan_id, actor.at[:10])
        sets += [f"{name} = if_not_exists({name}, :{name})" for name in keys]
        values.update({f":{name}": value for name, value in keys.items()})
    for email, lender in servicing.lenders.items():
        index = record.participant_index(email)
        for attribute, value in _figures(lender).items():
            sets.append(f"participants[{index}].{attribute} = :p{index}{attribute}")
            values[f":p{index}{attribute}"] = value
    update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "") + " ADD version :one"
    ops = [
        tx_update(
            loan_key(loan_id, record.borrower_id),
            Expression(update, names={"#status": "status"}, values=values),
            Expression("#status = :active AND version = :version"),
        )
    ]
    for invitation in record.invitations:
        figures = servicing.lenders.get(str(invitation["email"]))
        changes: dict[str, Any] = {} if figures is None else _figures(figures)
        if servicing.repaid:
            changes["loanStatus"] = "repaid"
        if not changes:
            continue
        text = "SET " + ", ".join(f"{name} = :{name}" for name in changes)
        ops.append(
            tx_update(
                invitation_key(loan_id, str(invitation["email"])),
                Expression(text, values={f":{k}": v for k, v in changes.items()}),
                EXISTING_ITEM,
            )
        )
    recorded = {"type": "repayment_recorded", "amount": servicing.amount, "repaymentId": servicing.repayment_id or None}
    events: list[dict[str, Any]] = [{**recorded, "distributions": list(servicing.shares) or None}]
    if servicing.repaid:
        events.append({"type": "repaid", "amount": record.loan["amount"]})
    return ops + event_ops(loan_id, actor, [uuid7() for _ in events], events)


def _figures(figures: LenderFigures) -> dict[str, Any]:
    return {
        "principalRepaid": figures.principal_repaid,
        "interestPaid": figures.interest_paid,
        "outstandingPrincipal": figures.outstanding_principal,
    }
