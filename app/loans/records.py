"""A loan partition as read (LoanRecord), and the rules that read loan items: ids, open invitations, repayment terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from app.clock import iso
from app.db.expressions import Item
from app.servicing.schedule import Terms

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_loan_id(value: str) -> bool:
    """Loan ids are lower-case UUIDs; anything else cannot name a loan (404 without a read)."""
    return bool(_UUID.fullmatch(value))


def is_pending_invitation(invitation: Item, now: datetime) -> bool:
    """The one rule for "a pending invitation": still invited, on a loan still pending whose deadline has not come."""
    return invitation.get("status") == "invited" and invitation.get("loanStatus") == "pending" and still_open(invitation, now)


DEFAULT_FUNDING_DAYS = 14


def funding_deadline(item: Item) -> str:
    """A loan's or invitation's funding deadline (ISO 8601 UTC); items written before deadlines existed read as
    created (or invited) + DEFAULT_FUNDING_DAYS days, the contract's default."""
    stored = item.get("fundingDeadline")
    if stored:
        return str(stored)
    created = datetime.fromisoformat(str(item.get("createdAt") or item["invitedAt"]).replace("Z", "+00:00"))
    return iso(created + timedelta(days=DEFAULT_FUNDING_DAYS))


def effective_status(loan: Item, now: datetime) -> str:
    """The status a reader sees: a pending loan whose deadline has come is expired, even before the job persists it."""
    status = str(loan["status"])
    return "expired" if status == "pending" and iso(now) >= funding_deadline(loan) else status


def invitation_loan_status(invitation: Item, now: datetime) -> str:
    """The status a reader sees of an invitation's loan, from its denormalised loanStatus and deadline: effective_status."""
    return effective_status({**invitation, "status": invitation["loanStatus"]}, now)


def still_open(item: Item, now: datetime) -> bool:
    """A loan (or an invitation, by its denormalised deadline) whose funding window has not closed at `now`."""
    return iso(now) < funding_deadline(item)


def activation_date(loan: Item) -> date:
    """The UTC date of activation (activatedAt is ISO 8601 UTC): the anchor of every due date."""
    return date.fromisoformat(str(loan["activatedAt"])[:10])


def loan_terms(loan: Item) -> Terms:
    """The repayment terms of an activated loan item, fixed at activation (amount, rate, term, activation date)."""
    return Terms.of(
        principal=Decimal(loan["amount"]),
        annual_percent=Decimal(loan["interestRate"]),
        term_months=int(loan["termMonths"]),
        activation=activation_date(loan),
    )


@dataclass
class LoanRecord:
    """One loan partition as read: the loan item and its invitation items (by email)."""

    loan: Item
    invitations: list[Item]

    @property
    def loan_id(self) -> str:
        return str(self.loan["loanId"])

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

    @classmethod
    def of(cls, items: list[Item]) -> LoanRecord | None:
        """The record of a Query of the loan partition; None when the loan item is not among them."""
        loan = next((item for item in items if item.get("entity") == "loan"), None)
        if loan is None:
            return None
        return cls(loan=loan, invitations=[item for item in items if item.get("entity") == "invitation"])
