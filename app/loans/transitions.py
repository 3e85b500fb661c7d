"""The state changes of a loan as TransactWriteItems operations: every change writes its audit event.

Private to app/loans/repository.py, which commits these and explains a cancelled transaction: each
builder returns the operations of ONE transaction in a fixed order (see the position constants).
Longer than 250 lines because every loan transaction stands here side by side (create, accept,
decline, cancel, repayment), so their conditions can be read and compared in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.clock import uuid7
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_put, tx_update
from app.db.keys import event_key, invitation_key, loan_key
from app.loans.records import LoanRecord

NOT_EXISTS = NEW_ITEM
EXISTS = EXISTING_ITEM

# Positions in the accept/decline transaction (the lender-role grant is at USER in an acceptance).
INVITATION, LOAN, ACH, USER = 0, 1, 2, 3


@dataclass(frozen=True)
class Actor:
    """Who changes the loan, when, and under which request id (for the audit trail)."""

    user_id: str
    email: str
    at: str
    request_id: str


def event_ops(loan_id: str, actor: Actor, moment_ids: list[str], events: list[dict[str, Any]]) -> list[Operation]:
    """Append-only audit items; ids are UUIDv7, sorted so events of one transaction keep their order."""
    ops = []
    for event_id, event in zip(sorted(moment_ids), events, strict=True):
        item = {
            **event_key(loan_id, event_id),
            "entity": "event",
            "eventId": event_id,
            "loanId": loan_id,
            "actorId": actor.user_id,
            "at": actor.at,
            "requestId": actor.request_id,
            **{name: value for name, value in event.items() if value is not None},
        }
        ops.append(tx_put(item, NOT_EXISTS))
    return ops


def create(loan: Item, invitations: list[Item], actor: Actor, event_ids: list[str]) -> list[Operation]:
    """Put the loan, every invitation and the `created` event: no half-created loan can exist."""
    return [
        tx_put(loan, NOT_EXISTS),
        *(tx_put(invitation, NOT_EXISTS) for invitation in invitations),
        *event_ops(loan["loanId"], actor, event_ids, [{"type": "created", "amount": loan["amount"]}]),
    ]


def _participant_update(index: int, status: str, actor: Actor) -> tuple[str, dict[str, str], dict[str, Any]]:
    text = f"participants[{index}].#pstatus = :pstatus, participants[{index}].lenderId = :lenderId, participants[{index}].respondedAt = :at"
    return text, {"#pstatus": "status"}, {":pstatus": status, ":lenderId": actor.user_id, ":at": actor.at}


def _respond(record: LoanRecord, actor: Actor, status: str, loan_status: str = "pending") -> Operation:
    """The caller's invitation invited -> `status`, only while it is still invited on a pending loan."""
    loan_id = record.loan["loanId"]
    return tx_update(
        invitation_key(loan_id, actor.email),
        Expression(
            "SET #status = :status, lenderId = :lenderId, respondedAt = :at, loanStatus = :newLoanStatus",
            names={"#status": "status"},
            values={":status": status, ":lenderId": actor.user_id, ":at": actor.at, ":newLoanStatus": loan_status},
        ),
        Expression(
            "#status = :invited AND loanStatus = :pending",
            names={"#status": "status"},
            values={":invited": "invited", ":pending": "pending"},
        ),
    )


def _invitation_of(record: LoanRecord, actor: Actor) -> Item:
    """The actor's invitation (the services checked it exists before building a transaction)."""
    invitation = record.invitation_of(actor.email)
    if invitation is None:
        raise ValueError("the actor is not invited to this loan")
    return invitation


def accept(record: LoanRecord, actor: Actor, *, ach_item: Item, lender_grant: Operation, completes: bool) -> list[Operation]:
    """Accept as one transaction; `completes` = this contribution is exactly what is left to fund.

    The loan update's condition is arithmetic on the stored fundedAmount, not on what we read:
    a non-final accept needs fundedAmount < amount - contribution (so it can never reach or pass
    amount), the final one needs fundedAmount = amount - contribution and activates the loan. So
    funding never passes amount and activation happens exactly once, whatever runs concurrently.
    """
    loan, loan_id = record.loan, record.loan["loanId"]
    invitation = _invitation_of(record, actor)
    contribution = Decimal(invitation["amount"])
    threshold = Decimal(loan["amount"]) - contribution
    text, names, values = _participant_update(record.participant_index(actor.email), "accepted", actor)
    update = f"SET fundedAmount = fundedAmount + :contribution, {text}"
    condition = "#status = :pending AND fundedAmount " + ("= :threshold" if completes else "< :threshold")
    names = {**names, "#status": "status"}
    values = {**values, ":contribution": contribution, ":threshold": threshold, ":pending": "pending", ":one": 1}
    if completes:
        update += ", #status = :active, activatedAt = :at"
        values[":active"] = "active"
    ops = [
        _respond(record, actor, "accepted", "active" if completes else "pending"),
        tx_update(loan_key(loan_id, record.borrower_id), Expression(update + " ADD version :one", names, values), Expression(condition)),
        tx_put(ach_item, NOT_EXISTS),
        lender_grant,
    ]
    events: list[dict[str, Any]] = [{"type": "accepted", "amount": contribution, "lenderEmail": actor.email}]
    if completes:
        ops.extend(_set_loan_status_on_invitations(record, "active", skip=actor.email))
        events.append({"type": "activated", "amount": loan["amount"]})
    ids = [uuid7() for _ in events]
    return ops + event_ops(loan_id, actor, ids, events)


def decline(record: LoanRecord, actor: Actor) -> list[Operation]:
    """The invitation becomes declined; the loan's participants list follows (only while pending)."""
    loan_id = record.loan["loanId"]
    invitation = _invitation_of(record, actor)
    text, names, values = _participant_update(record.participant_index(actor.email), "declined", actor)
    return [
        _respond(record, actor, "declined"),
        tx_update(
            loan_key(loan_id, record.borrower_id),
            Expression(f"SET {text} ADD version :one", names, {**values, ":one": 1}),
            Expression("#status = :pending", names={"#status": "status"}, values={":pending": "pending"}),
        ),
        *event_ops(loan_id, actor, [uuid7()], [{"type": "declined", "amount": invitation["amount"], "lenderEmail": actor.email}]),
    ]


def cancel(record: LoanRecord, actor: Actor) -> list[Operation]:
    """The loan becomes cancelled (only while pending) and every invitation's loanStatus follows.

    The condition also pins the version we read, so the `cancelled` event (and the response) carry
    the funding and participations the loan really had when it was cancelled.
    """
    loan_id = record.loan["loanId"]
    return [
        tx_update(
            loan_key(loan_id, record.borrower_id),
            Expression(
                "SET #status = :cancelled, cancelledAt = :at ADD version :one",
                names={"#status": "status"},
                values={":cancelled": "cancelled", ":at": actor.at, ":one": 1},
            ),
            Expression(
                "#status = :pending AND version = :version",
                names={"#status": "status"},
                values={":pending": "pending", ":version": record.loan["version"]},
            ),
        ),
        *_set_loan_status_on_invitations(record, "cancelled"),
        *event_ops(loan_id, actor, [uuid7()], [{"type": "cancelled", "amount": record.loan["fundedAmount"]}]),
    ]


def _set_loan_status_on_invitations(record: LoanRecord, status: str, skip: str | None = None) -> list[Operation]:
    loan_id = record.loan["loanId"]
    return [
        tx_update(
            invitation_key(loan_id, invitation["email"]),
            Expression("SET loanStatus = :loanStatus", values={":loanStatus": status}),
            EXISTS,
        )
        for invitation in record.invitations
        if invitation["email"] != skip
    ]


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
                invitation_key(loan_id, str(invitation["email"])), Expression(text, values={f":{k}": v for k, v in changes.items()}), EXISTS
            )
        )
    events: list[dict[str, Any]] = [{"type": "repayment_recorded", "amount": servicing.amount}]
    if servicing.repaid:
        events.append({"type": "repaid", "amount": record.loan["amount"]})
    return ops + event_ops(loan_id, actor, [uuid7() for _ in events], events)


def _figures(figures: LenderFigures) -> dict[str, Any]:
    return {
        "principalRepaid": figures.principal_repaid,
        "interestPaid": figures.interest_paid,
        "outstandingPrincipal": figures.outstanding_principal,
    }
