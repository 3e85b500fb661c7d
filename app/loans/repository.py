"""Reads of loans and invitations, and the mapping from items to the wire models.

Every read is one call on known keys (see docs/data-model.md, "Access patterns"):
  a loan with its participants   Query PK = LOAN#<id>, SK >= INVITE#   (strongly consistent)
  a loan with its audit trail    Query PK = LOAN#<id>, SK >= EVENT#    (events, invitations, loan)
  a borrower's loans             Query GSI1 SK = USER#<id>, begins_with(PK, LOAN#), newest first
  an email's invitations         Query GSI1 SK = INVITE#<email>, begins_with(PK, LOAN#), newest first
  live loan figures              BatchGetItem of loan items
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.db.dynamo import Dynamo, Expression, Item, Page
from app.db.keys import EVENT, INVITE, LOAN, invitation_sort_key, loan_key, loan_partition, user_key, user_partition
from app.db.table import GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.loans.schemas import InvitationPublic, LoanEvent, LoanPublic, Participant

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_GSI_NAMES = {"#gsiPartition": SORT_KEY, "#gsiSort": PARTITION_KEY}


def is_loan_id(value: str) -> bool:
    """Loan ids are lower-case UUIDs; anything else cannot name a loan (404 without a read)."""
    return bool(_UUID.fullmatch(value))


@dataclass
class LoanRecord:
    """One loan partition as read: the loan item, its invitation items (by email) and, if asked, its events."""

    loan: Item
    invitations: list[Item]
    events: list[Item]

    @property
    def borrower_id(self) -> str:
        return str(self.loan["borrowerId"])

    @property
    def status(self) -> str:
        return str(self.loan["status"])

    def invitation_of(self, email: str) -> Item | None:
        return next((item for item in self.invitations if item["email"] == email), None)

    def participant_index(self, email: str) -> int:
        """Position of `email` in the loan item's participants list (fixed at creation, never reordered)."""
        return next(i for i, entry in enumerate(self.loan["participants"]) if entry["email"] == email)


def _record_of(items: list[Item]) -> LoanRecord | None:
    loan = next((item for item in items if item.get("entity") == "loan"), None)
    if loan is None:
        return None
    invitations = [item for item in items if item.get("entity") == "invitation"]
    events = sorted((item for item in items if item.get("entity") == "event"), key=lambda item: str(item[SORT_KEY]))
    return LoanRecord(loan=loan, invitations=invitations, events=events)


def read_loan(db: Dynamo, *, loan_id: str, with_events: bool = False) -> LoanRecord | None:
    """One strongly consistent Query of the loan's partition (ACH items are never read here)."""
    start = EVENT if with_events else INVITE
    condition = Expression(
        "#pk = :pk AND #sk >= :start",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": loan_partition(loan_id), ":start": start},
    )
    return _record_of(db.query_all(condition, consistent=True))


def loans_of_borrower(db: Dynamo, *, borrower_id: str, status: str | None, limit: int, cursor: str | None) -> Page:
    """A page of the borrower's loan items, newest first (UUIDv7 ids sort by creation)."""
    condition = Expression(
        "#gsiPartition = :user AND begins_with(#gsiSort, :loan)",
        names=dict(_GSI_NAMES),
        values={":user": user_partition(borrower_id), ":loan": LOAN},
    )
    where = Expression("#status = :status", names={"#status": "status"}, values={":status": status}) if status else None
    return db.query(condition, index=GSI1_NAME, where=where, newest_first=True, limit=limit, cursor=cursor)


def invitations_of(db: Dynamo, *, email: str, status: str, loan_status: str | None, limit: int, cursor: str | None) -> Page:
    """A page of the email's invitation items in one participation status (and loan status), newest first."""
    condition = Expression(
        "#gsiPartition = :invite AND begins_with(#gsiSort, :loan)",
        names=dict(_GSI_NAMES),
        values={":invite": invitation_sort_key(email), ":loan": LOAN},
    )
    text, names, values = "#status = :status", {"#status": "status"}, {":status": status}
    if loan_status:
        text += " AND loanStatus = :loanStatus"
        values[":loanStatus"] = loan_status
    where = Expression(text, names=names, values=values)
    return db.query(condition, index=GSI1_NAME, where=where, newest_first=True, limit=limit, cursor=cursor)


def loans_of_invitations(db: Dynamo, invitations: list[Item]) -> dict[str, Item]:
    """The live loan items behind some invitations, by loan id: one BatchGetItem (none when empty)."""
    keys = [loan_key(str(item["loanId"]), str(item["borrowerId"])) for item in invitations]
    return {str(item["loanId"]): item for item in db.batch_get(keys)}


def live_loan(db: Dynamo, *, loan_id: str, borrower_id: str) -> Item | None:
    """The loan item as it is now (one strongly consistent GetItem): figures after concurrent changes."""
    return db.get(loan_key(loan_id, borrower_id))


def get_user(db: Dynamo, *, user_id: str) -> Item | None:
    return db.get(user_key(user_id))


# --- items -> wire models --------------------------------------------------------------------------


def participant_of(item: Item) -> Participant:
    """An invitation item, or an entry of the loan item's participants list (same attribute names)."""
    return Participant(
        email=item["email"],
        amount=Decimal(item["amount"]),
        status=item["status"],
        lender_id=item.get("lenderId"),
        responded_at=item.get("respondedAt"),
    )


def loan_public(loan: Item, participants: list[Participant]) -> LoanPublic:
    return LoanPublic(
        loan_id=loan["loanId"],
        borrower_id=loan["borrowerId"],
        borrower_name=loan["borrowerName"],
        amount=loan["amount"],
        funded_amount=loan["fundedAmount"],
        purpose=loan["purpose"],
        term_months=int(loan["termMonths"]),
        interest_rate=loan["interestRate"],
        status=loan["status"],
        created_at=loan["createdAt"],
        activated_at=loan.get("activatedAt"),
        lenders=participants,
    )


def loan_seen_by(loan: Item, *, user_id: str, email: str) -> LoanPublic | None:
    """A loan item as `user_id`/`email` may see it, from its participants list; None if they may not."""
    entries = [participant_of(entry) for entry in loan.get("participants", [])]
    if loan["borrowerId"] == user_id:
        return loan_public(loan, entries)
    own = [entry for entry in entries if entry.email == email]
    return loan_public(loan, own) if own else None


def invitation_public(invitation: Item, loan: Item) -> InvitationPublic:
    return InvitationPublic(
        loan_id=invitation["loanId"],
        borrower_name=invitation["borrowerName"],
        purpose=invitation["purpose"],
        loan_amount=invitation["loanAmount"],
        amount=invitation["amount"],
        funded_amount=loan["fundedAmount"],
        term_months=int(invitation["termMonths"]),
        interest_rate=invitation["interestRate"],
        invited_at=invitation["invitedAt"],
    )


def event_public(item: Item) -> LoanEvent:
    return LoanEvent(
        event_id=item["eventId"],
        type=item["type"],
        actor_id=item["actorId"],
        at=item["at"],
        amount=item.get("amount"),
        lender_email=item.get("lenderEmail"),
        request_id=item.get("requestId", ""),
    )
