"""The state changes of a loan as TransactWriteItems operations: every change writes its audit event.

Private to app/loans/repository.py, which commits these and explains a cancelled transaction: each
builder returns the operations of ONE transaction in a fixed order (see the position constants).
Longer than 250 lines because every transaction of a loan's funding stands here side by side
(create, accept, decline, cancel, expire, close funding), so their conditions can be read and
compared in one place. A repayment's loan operations are in servicing_ops.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.clock import iso, uuid7
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_put, tx_update
from app.db.keys import event_key, invitation_key, loan_key, reminder_keys
from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT
from app.loans.records import DEFAULT_FUNDING_DAYS, LoanRecord

NOT_EXISTS = NEW_ITEM
EXISTS = EXISTING_ITEM

# Positions in the accept/decline transaction (in an acceptance: the bank account's first operation at ACCOUNT,
# the lender-role grant at USER).
INVITATION, LOAN, ACCOUNT, USER = 0, 1, 2, 3


@dataclass(frozen=True)
class AccountBinding:
    """The lender's bank account in an acceptance: its id, the operation at ACCOUNT, and any others it needs."""

    bank_account_id: str
    first: Operation
    rest: list[Operation]


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


def _respond(record: LoanRecord, actor: Actor, status: str, loan_status: str = "pending", bank_account_id: str | None = None) -> Operation:
    """The caller's invitation invited -> `status` (accepted: with the bank account it pays from), only while it is
    still invited on a pending loan."""
    loan_id = record.loan["loanId"]
    values = {":status": status, ":lenderId": actor.user_id, ":at": actor.at, ":newLoanStatus": loan_status}
    account = ""
    if bank_account_id is not None:
        account, values[":bankAccountId"] = ", bankAccountId = :bankAccountId", bank_account_id
    return tx_update(
        invitation_key(loan_id, actor.email),
        Expression(
            f"SET #status = :status, lenderId = :lenderId, respondedAt = :at, loanStatus = :newLoanStatus{account}",
            names={"#status": "status"},
            values=values,
        ),
        Expression(
            "#status = :invited AND loanStatus = :pending",
            names={"#status": "status"},
            values={":invited": "invited", ":pending": "pending"},
        ),
    )


DEADLINE_KEYS = f"{DEADLINE_PARTITION}, {DEADLINE_SORT}"  # REMOVEd when a loan leaves pending: out of the deadline index
# Activation moves the loan from the deadline index to the reminders (same GSI2 attributes, REMIND# partition):
# the reminder job first wakes it on its activation day and then on each date it has something to say.
REMINDER_KEYS = f"{DEADLINE_PARTITION} = :remindPartition, {DEADLINE_SORT} = :remindSort"


def _reminder_values(loan_id: str, actor: Actor) -> dict[str, str]:
    keys = reminder_keys(loan_id, actor.at[:10])
    return {":remindPartition": keys[DEADLINE_PARTITION], ":remindSort": keys[DEADLINE_SORT]}


def _still_open(actor: Actor) -> tuple[str, dict[str, Any]]:
    """Condition: the funding deadline is after the actor's moment (a loan from before deadlines: created less than the
    default window before). Checked inside the transaction, so an accept one second late fails whatever the job did."""
    moment = datetime.fromisoformat(actor.at.replace("Z", "+00:00"))
    legacy = iso(moment - timedelta(days=DEFAULT_FUNDING_DAYS))
    text = "(fundingDeadline > :now OR (attribute_not_exists(fundingDeadline) AND createdAt > :legacyCreatedAfter))"
    return text, {":now": actor.at, ":legacyCreatedAfter": legacy}


def _invitation_of(record: LoanRecord, actor: Actor) -> Item:
    """The actor's invitation (the services checked it exists before building a transaction)."""
    invitation = record.invitation_of(actor.email)
    if invitation is None:
        raise ValueError("the actor is not invited to this loan")
    return invitation


def accept(record: LoanRecord, actor: Actor, *, account: AccountBinding, lender_grant: Operation, completes: bool) -> list[Operation]:
    """Accept as one transaction; `completes` = this contribution is exactly what is left to fund.

    The loan update's condition is arithmetic on the stored fundedAmount, not on what we read:
    a non-final accept needs fundedAmount < amount - contribution (so it can never reach or pass
    amount), the final one needs fundedAmount = amount - contribution and activates the loan. So
    funding never passes amount and activation happens exactly once, whatever runs concurrently.
    Both also pin the fundedAmount read, so the `accepted` event can carry the figures of THIS
    acceptance (fundedAmount after it, the loan amount, whether it completed the funding): the email
    tells of them, never of a later read. A concurrent acceptance in between is a lost race (re-read).
    """
    loan, loan_id = record.loan, record.loan["loanId"]
    invitation = _invitation_of(record, actor)
    contribution = Decimal(invitation["amount"])
    threshold = Decimal(loan["amount"]) - contribution
    text, names, values = _participant_update(record.participant_index(actor.email), "accepted", actor)
    update = f"SET fundedAmount = fundedAmount + :contribution, {text}"
    still_open, open_values = _still_open(actor)
    funded = Decimal(loan["fundedAmount"])
    condition = "#status = :pending AND fundedAmount = :funded AND fundedAmount " + ("= :threshold" if completes else "< :threshold")
    condition += f" AND {still_open}"
    names = {**names, "#status": "status"}
    values = {**values, **open_values, ":contribution": contribution, ":threshold": threshold, ":pending": "pending", ":one": 1}
    values[":funded"] = funded
    if completes:
        update += f", #status = :active, activatedAt = :at, {REMINDER_KEYS}"
        values.update({":active": "active", **_reminder_values(loan_id, actor)})
    ops = [
        _respond(record, actor, "accepted", "active" if completes else "pending", bank_account_id=account.bank_account_id),
        tx_update(loan_key(loan_id, record.borrower_id), Expression(update + " ADD version :one", names, values), Expression(condition)),
        account.first,
        lender_grant,
    ]
    figures = {"fundedAmount": funded + contribution, "loanAmount": Decimal(loan["amount"]), "completesFunding": completes}
    events: list[dict[str, Any]] = [{"type": "accepted", "amount": contribution, "lenderEmail": actor.email, **figures}]
    if completes:
        ops.extend(_set_loan_status_on_invitations(record, "active", skip=actor.email))
        events.append({"type": "activated", "amount": loan["amount"]})
    ids = [uuid7() for _ in events]
    return ops + event_ops(loan_id, actor, ids, events) + account.rest


def decline(record: LoanRecord, actor: Actor) -> list[Operation]:
    """The invitation becomes declined; the loan's participants list follows (only while pending)."""
    loan_id = record.loan["loanId"]
    invitation = _invitation_of(record, actor)
    text, names, values = _participant_update(record.participant_index(actor.email), "declined", actor)
    still_open, open_values = _still_open(actor)
    return [
        _respond(record, actor, "declined"),
        tx_update(
            loan_key(loan_id, record.borrower_id),
            Expression(f"SET {text} ADD version :one", names, {**values, ":one": 1}),
            Expression(f"#status = :pending AND {still_open}", names={"#status": "status"}, values={":pending": "pending", **open_values}),
        ),
        *event_ops(loan_id, actor, [uuid7()], [{"type": "declined", "amount": invitation["amount"], "lenderEmail": actor.email}]),
    ]


def cancel(record: LoanRecord, actor: Actor) -> list[Operation]:
    """The loan becomes cancelled (only while pending) and every invitation's loanStatus follows.

    The condition also pins the version we read, so the `cancelled` event (and the response) carry
    the funding and participations the loan really had when it was cancelled.
    """
    loan_id = record.loan["loanId"]
    still_open, open_values = _still_open(actor)
    return [
        tx_update(
            loan_key(loan_id, record.borrower_id),
            Expression(
                f"SET #status = :cancelled, cancelledAt = :at REMOVE {DEADLINE_KEYS} ADD version :one",
                names={"#status": "status"},
                values={":cancelled": "cancelled", ":at": actor.at, ":one": 1},
            ),
            Expression(
                f"#status = :pending AND version = :version AND {still_open}",
                names={"#status": "status"},
                values={":pending": "pending", ":version": record.loan["version"], **open_values},
            ),
        ),
        *_set_loan_status_on_invitations(record, "cancelled"),
        *event_ops(loan_id, actor, [uuid7()], [{"type": "cancelled", "amount": record.loan["fundedAmount"]}]),
    ]


def _set_loan_status_on_invitations(record: LoanRecord, status: str, skip: str | None = None) -> list[Operation]:
    emails = [str(invitation["email"]) for invitation in record.invitations]
    return _loan_status_on(record.loan_id, [email for email in emails if email != skip], status)


def _loan_status_on(loan_id: str, emails: list[str], status: str) -> list[Operation]:
    """Each invitation's denormalised loanStatus follows the loan (the lists and dashboards read it)."""
    return [
        tx_update(invitation_key(loan_id, email), Expression("SET loanStatus = :loanStatus", values={":loanStatus": status}), EXISTS)
        for email in emails
    ]


def expire(loan: Item, actor: Actor) -> list[Operation]:
    """A pending loan whose deadline has passed becomes expired, out of the deadline index, with its `expired` event.

    `loan` is the loan item as the deadline index returned it; its participants list names the invitations.
    """
    loan_id = str(loan["loanId"])
    return [
        tx_update(
            loan_key(loan_id, str(loan["borrowerId"])),
            Expression(
                f"SET #status = :expired, expiredAt = :at REMOVE {DEADLINE_KEYS} ADD version :one",
                names={"#status": "status"},
                values={":expired": "expired", ":at": actor.at, ":one": 1},
            ),
            Expression(
                "#status = :pending AND fundingDeadline <= :at",
                names={"#status": "status"},
                values={":pending": "pending", ":at": actor.at},
            ),
        ),
        *_loan_status_on(loan_id, [str(entry["email"]) for entry in loan.get("participants", [])], "expired"),
        *event_ops(loan_id, actor, [uuid7()], [{"type": "expired", "amount": loan["fundedAmount"]}]),
    ]


def _close_invitation(loan_id: str, email: str, *, withdraw: bool) -> Operation:
    """An invitation of a loan whose funding closed: the loan is active; an open invitation is withdrawn."""
    text, values = "SET loanStatus = :active", {":active": "active"}
    if withdraw:
        text += ", #status = :withdrawn"
        values[":withdrawn"] = "withdrawn"
    return tx_update(
        invitation_key(loan_id, email), Expression(text, names={"#status": "status"} if withdraw else {}, values=values), EXISTS
    )


def close_funding(record: LoanRecord, actor: Actor) -> list[Operation]:
    """Activate now on what is funded: amount = fundedAmount, requestedAmount keeps the ask, open invitations withdrawn.

    Pinned to the version read: an acceptance that commits first makes this transaction fail (the
    service re-reads and closes on the new figure); one that comes after finds the loan active.
    """
    loan = record.loan
    names = {"#status": "status"}
    values: dict[str, Any] = {":active": "active", ":at": actor.at, ":funded": loan["fundedAmount"], ":requested": loan["amount"]}
    values.update({":one": 1, ":pending": "pending", ":version": loan["version"]})
    sets = ["#status = :active", "activatedAt = :at", "amount = :funded", "requestedAmount = :requested", REMINDER_KEYS]
    values.update(_reminder_values(record.loan_id, actor))
    open_entries = [index for index, entry in enumerate(loan["participants"]) if entry["status"] == "invited"]
    if open_entries:  # DynamoDB refuses a placeholder the expression does not use: name them only when used
        names["#pstatus"] = "status"
        values[":withdrawn"] = "withdrawn"
        sets.extend(f"participants[{index}].#pstatus = :withdrawn" for index in open_entries)
    still_open, open_values = _still_open(actor)
    ops = [
        tx_update(
            loan_key(record.loan_id, record.borrower_id),
            Expression("SET " + ", ".join(sets) + " ADD version :one", names, {**values, **open_values}),
            Expression(f"#status = :pending AND version = :version AND {still_open}"),
        ),
        *(
            _close_invitation(record.loan_id, str(invitation["email"]), withdraw=invitation["status"] == "invited")
            for invitation in record.invitations
        ),
    ]
    events = [{"type": "funding_closed", "amount": loan["fundedAmount"]}, {"type": "activated", "amount": loan["fundedAmount"]}]
    return ops + event_ops(record.loan_id, actor, [uuid7() for _ in events], events)
