"""The state changes of a loan as TransactWriteItems operations: every change writes its audit event.

Private to app/loans/repository.py, which commits these and explains a cancelled transaction: each
builder returns the operations of ONE transaction in a fixed order (see the position constants).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.clock import uuid7
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_put, tx_update
from app.db.keys import ach_key, event_key, invitation_key, loan_key
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
class NewLoan:
    """What a new loan is made of; `lenders` are (email, contribution) in invitation order."""

    loan_id: str
    borrower_id: str
    borrower_name: str
    amount: Decimal
    purpose: str
    term_months: int
    interest_rate: Decimal
    lenders: list[tuple[str, Decimal]]
    at: str


def new_loan_items(loan: NewLoan) -> tuple[Item, list[Item]]:
    """The loan item (with its participants list) and one invitation item per lender, as first written."""
    shared = {"purpose": loan.purpose, "termMonths": loan.term_months, "interestRate": loan.interest_rate}
    loan_item = {
        **loan_key(loan.loan_id, loan.borrower_id),
        "entity": "loan",
        "loanId": loan.loan_id,
        "borrowerId": loan.borrower_id,
        "borrowerName": loan.borrower_name,
        "amount": loan.amount,
        "fundedAmount": Decimal("0"),
        "status": "pending",
        "createdAt": loan.at,
        "version": 1,
        "participants": [{"email": email, "amount": share, "status": "invited"} for email, share in loan.lenders],
        **shared,
    }
    invitations = [
        {
            **invitation_key(loan.loan_id, email),
            "entity": "invitation",
            "loanId": loan.loan_id,
            "email": email,
            "amount": share,
            "status": "invited",
            "invitedAt": loan.at,
            "loanStatus": "pending",
            "borrowerId": loan.borrower_id,
            "borrowerName": loan.borrower_name,
            "loanAmount": loan.amount,
            **shared,
        }
        for email, share in loan.lenders
    ]
    return loan_item, invitations


def ach_item(*, loan_id: str, lender_id: str, holder: str, account_type: str, last4s: tuple[str, str], sealed: Item, at: str) -> Item:
    """The ACH record: encrypted numbers (see app/loans/ach.py) and last-4 figures only."""
    return {
        **ach_key(loan_id, lender_id),
        "entity": "ach",
        "loanId": loan_id,
        "lenderId": lender_id,
        "accountHolderName": holder,
        "accountType": account_type,
        "routingNumberLast4": last4s[0],
        "accountNumberLast4": last4s[1],
        **sealed,
        "createdAt": at,
    }
