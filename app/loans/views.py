"""Loan, invitation and event items -> the wire models (what each caller may see of them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.clock import utc_date
from app.db.expressions import Item
from app.loans.records import LoanRecord, effective_status, funding_deadline, loan_terms
from app.loans.schemas import Invitation, Loan, LoanEvent, NextPayment, Participant
from app.servicing.schedule import first_installment

SERVICED = ("active", "repaid")  # loan statuses with a schedule, repayments and lender figures
ZERO = Decimal("0")


def participant_of(item: Item, loan_status: str) -> Participant:
    """An invitation item, or an entry of the loan item's participants list (same attribute names).

    An accepted lender of an active or repaid loan also shows their figures; items written before
    any repayment have none yet and read as nothing repaid, the whole contribution outstanding.
    """
    figures = lender_figures(item, loan_status)
    return Participant(
        email=item["email"],
        amount=Decimal(item["amount"]),
        status=item["status"],
        lender_id=item.get("lenderId"),
        responded_at=item.get("respondedAt"),
        principal_repaid=figures[0] if figures else None,
        interest_paid=figures[1] if figures else None,
        outstanding_principal=figures[2] if figures else None,
    )


def lender_figures(item: Item, loan_status: str) -> tuple[Decimal, Decimal, Decimal] | None:
    """(principal repaid, interest paid, outstanding principal) of an accepted participation on an active or repaid loan."""
    if item["status"] != "accepted" or loan_status not in SERVICED:
        return None
    return item.get("principalRepaid", ZERO), item.get("interestPaid", ZERO), item.get("outstandingPrincipal", Decimal(item["amount"]))


def servicing_fields(loan: Item, today: date) -> dict[str, Any]:
    """outstandingPrincipal, nextPayment, daysPastDue and repaidAt of a loan item as of `today`.

    A loan activated before servicing existed (or not repaid in any part yet) has none of the stored
    figures: it reads as its whole amount outstanding and its first installment next, derived from
    its terms. daysPastDue comes from the clock at read time, so it grows without any job running.
    """
    status = loan["status"]
    if status not in SERVICED:
        return {"outstanding_principal": None, "next_payment": None, "days_past_due": 0, "repaid_at": None}
    if status == "repaid":
        return {
            "outstanding_principal": loan.get("outstandingPrincipal", ZERO),
            "next_payment": None,
            "days_past_due": 0,
            "repaid_at": loan.get("repaidAt"),
        }
    if "nextDueDate" in loan:
        due, owed = date.fromisoformat(str(loan["nextDueDate"])), Decimal(loan["nextDueAmount"])
    else:
        first = first_installment(loan_terms(loan))
        due, owed = first.due_date, first.amount
    return {
        "outstanding_principal": loan.get("outstandingPrincipal", Decimal(loan["amount"])),
        "next_payment": NextPayment(due_date=due, amount=owed),
        "days_past_due": max(0, (today - due).days),
        "repaid_at": None,
    }


def loan_public(loan: Item, participants: list[Participant], now: datetime) -> Loan:
    """A loan as of `now`: its status as a reader sees it (expired from the deadline on), servicing figures as of today."""
    return Loan(
        loan_id=loan["loanId"],
        borrower_id=loan["borrowerId"],
        borrower_name=loan["borrowerName"],
        amount=loan["amount"],
        funded_amount=loan["fundedAmount"],
        purpose=loan["purpose"],
        term_months=int(loan["termMonths"]),
        interest_rate=loan["interestRate"],
        status=effective_status(loan, now),
        created_at=loan["createdAt"],
        activated_at=loan.get("activatedAt"),
        funding_deadline=funding_deadline(loan),
        requested_amount=loan.get("requestedAmount", loan["amount"]),
        lenders=participants,
        **servicing_fields(loan, utc_date(now)),
    )


def loan_seen_by(loan: Item, *, user_id: str, email: str, now: datetime) -> Loan | None:
    """A loan item as `user_id`/`email` may see it, from its participants list; None if they may not."""
    entries = [participant_of(entry, loan["status"]) for entry in loan.get("participants", [])]
    if loan["borrowerId"] == user_id:
        return loan_public(loan, entries, now)
    own = [entry for entry in entries if entry.email == email]
    return loan_public(loan, own, now) if own else None


def record_seen_by(record: LoanRecord, *, user_id: str, email: str, now: datetime) -> Loan:
    """The borrower sees every participant (in the order they were invited); an invited lender sees only their own."""
    invitations = sorted(record.invitations, key=lambda item: record.participant_index(str(item["email"])))
    if record.borrower_id != user_id:
        invitations = [item for item in invitations if item["email"] == email]
    return loan_public(record.loan, [participant_of(item, record.status) for item in invitations], now)


def invitation_public(invitation: Item, loan: Item) -> Invitation:
    return Invitation(
        loan_id=invitation["loanId"],
        borrower_name=invitation["borrowerName"],
        purpose=invitation["purpose"],
        loan_amount=invitation["loanAmount"],
        amount=invitation["amount"],
        funded_amount=loan["fundedAmount"],
        term_months=int(invitation["termMonths"]),
        interest_rate=invitation["interestRate"],
        invited_at=invitation["invitedAt"],
        funding_deadline=funding_deadline(invitation),
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
