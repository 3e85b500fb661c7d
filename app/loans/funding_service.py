"""Funding rules beyond the borrower's and lenders' own steps: closing funding early, and expiring loans at their deadline."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from app.auth.tokens import Principal
from app.clock import Clock, iso
from app.config import Settings
from app.errors import Forbidden, LostRace
from app.loans import repository, views
from app.loans import service as loans_service
from app.loans.errors import InsufficientFunding, LoanNotPending
from app.loans.records import effective_status
from app.loans.repository import Actor
from app.loans.schemas import Loan
from app.retry import retry_on_lost_race
from app.servicing.schedule import schedule_problem
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.loans")

SYSTEM_ACTOR = "system"  # the actorId of changes no user made (the expiry job)


@dataclass(frozen=True)
class ExpiryReport:
    due: int  # due loans found
    expired: int  # expired by this run


def expire_due_loans(*, db: Dynamo, clock: Clock, request_id: str) -> ExpiryReport:
    """Every pending loan whose deadline has passed becomes expired (one conditional transaction per loan, with its
    `expired` audit event): one Query per shard of the deadline index (no Scan, nothing not yet due is read), then one
    TransactWriteItems per due loan; a loan that another run (or an accept/cancel) already moved is skipped. Idempotent."""
    now = clock.now()
    actor = Actor(user_id=SYSTEM_ACTOR, email="", at=iso(now), request_id=request_id)
    due = repository.due_loans(db, now=now)
    expired = sum(1 for loan in due if _expire(db, loan, actor))
    return ExpiryReport(due=len(due), expired=expired)


def _expire(db: Dynamo, loan: Item, actor: Actor) -> bool:
    """One loan; a conflict that outlasted its retries leaves it for the next run instead of stopping this one."""
    try:
        return repository.commit_expiry(db, loan, actor)
    except LostRace:
        logger.warning(
            "expiry left for the next run", extra={"request_id": actor.request_id, "event": "expiry_conflict", "loan_id": loan["loanId"]}
        )
        return False


def close_funding(*, db: Dynamo, clock: Clock, settings: Settings, borrower: Principal, loan_id: str, request_id: str) -> Loan:
    """Activate a pending loan now on what is funded, when at least MIN_PARTIAL_FUNDING_PERCENT of the amount is.

    Borrower only (an invited lender 403, anyone else 404: an invitee whose email is not verified too). ONE transaction:
    amount = fundedAmount, requestedAmount keeps the ask, open invitations withdrawn, `funding_closed` then `activated`;
    bound to the version read, so an acceptance either counts in the new amount or finds the loan active.
    """
    verified_invitees = settings.email_verification == "required"

    def attempt() -> Loan:
        record = loans_service.visible_record(db, loan_id=loan_id, caller=borrower, verified_invitees=verified_invitees)
        if record.borrower_id != borrower.user_id:
            raise Forbidden("Only the borrower can close funding")
        now = clock.now()
        if effective_status(record.loan, now) != "pending":
            raise LoanNotPending()
        funded, amount = Decimal(record.loan["fundedAmount"]), Decimal(record.loan["amount"])
        threshold = amount * settings.min_partial_funding_percent / 100
        if funded <= 0 or funded < threshold:
            percent = settings.min_partial_funding_percent
            raise InsufficientFunding(f"Funding can be closed from {percent}% of the amount ({threshold:.2f}); {funded:.2f} is funded")
        problem = schedule_problem(funded, Decimal(record.loan["interestRate"]), int(record.loan["termMonths"]))
        if problem is not None:
            raise InsufficientFunding(f"The funded amount cannot be scheduled: {problem}")
        at = iso(now)
        actor = Actor(user_id=borrower.user_id, email=borrower.email, at=at, request_id=request_id)
        repository.commit_close_funding(db, record, actor, caller_check=users_service.account_exists(user_id=borrower.user_id))
        # The transaction was bound to the version read, so the loan now is what was read plus its changes.
        record.loan.update(status="active", activatedAt=at, amount=funded, requestedAmount=amount)
        for entry in [*record.loan["participants"], *record.invitations]:
            if entry["status"] == "invited":
                entry["status"] = "withdrawn"
        for invitation in record.invitations:
            invitation["loanStatus"] = "active"
        return views.record_seen_by(record, user_id=borrower.user_id, email=borrower.email, now=now)

    closed = retry_on_lost_race(attempt, turns=db.turns(loan_id))
    logger.info("funding closed", extra={"request_id": request_id, "event": "funding_closed", "loan_id": loan_id})
    return closed
