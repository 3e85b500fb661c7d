"""Loan, invitation and event items -> the wire models (what each caller may see of them)."""

from __future__ import annotations

from decimal import Decimal

from app.db.expressions import Item
from app.loans.records import LoanRecord
from app.loans.schemas import InvitationPublic, LoanEvent, LoanPublic, Participant


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


def record_seen_by(record: LoanRecord, *, user_id: str, email: str) -> LoanPublic:
    """The borrower sees every participant (in the order they were invited); an invited lender sees only their own."""
    invitations = sorted(record.invitations, key=lambda item: record.participant_index(str(item["email"])))
    if record.borrower_id != user_id:
        invitations = [item for item in invitations if item["email"] == email]
    return loan_public(record.loan, [participant_of(item) for item in invitations])


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
