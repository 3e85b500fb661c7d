"""Borrower rules: see a loan, list them, cancel one, read its audit trail (creating one: creation_service.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from app.auth.tokens import Principal
from app.clock import Clock, iso, utc_date
from app.errors import Forbidden
from app.loans import repository, views
from app.loans.errors import LoanNotFound, LoanNotPending
from app.loans.records import (
    LoanRecord,
    effective_status,
    funding_deadline,
    invitation_loan_status,
    is_loan_id,
    is_pending_invitation,
)
from app.loans.repository import Actor, LenderFigures, Servicing
from app.loans.schemas import Loan, LoanEventPage, LoanPage, LoanStatus, NextPayment
from app.payments import bank_accounts
from app.payments.schemas import PaymentPage
from app.retry import retry_on_lost_race
from app.servicing.schedule import latest_activation_already_due
from app.users import service as users_service

if TYPE_CHECKING:
    from app.auth.accounts import AccountProof
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item, Operation

logger = logging.getLogger("app.loans")

# For other domains: the one rule for a pending invitation, the read-time status (of a loan, and of an invitation's
# loan); the repayment builders servicing commits.
__all__ = ["Actor", "LenderFigures", "Servicing", "effective_status", "invitation_loan_status", "is_pending_invitation"]


def visible_record(db: Dynamo, *, loan_id: str, caller: Principal, verified_invitees: bool = False) -> LoanRecord:
    """The loan partition if the caller is its borrower or invited to it; 404 otherwise (never reveal it exists).

    `verified_invitees`: an invited caller must also have proved they own the invited email (a token without
    the "ev" claim costs one GetItem); an invitation is the email's, not the first account's to claim it."""
    record = repository.read_loan(db, loan_id=loan_id) if is_loan_id(loan_id) else None
    if record is None or (record.borrower_id != caller.user_id and record.invitation_of(caller.email) is None):
        raise LoanNotFound()
    invitee_unverified = record.borrower_id != caller.user_id and verified_invitees and not caller.email_verified
    if invitee_unverified and not users_service.is_email_verified(db=db, user_id=caller.user_id):
        raise LoanNotFound()
    return record


def get_loan(*, db: Dynamo, clock: Clock, caller: Principal, loan_id: str, verified_invitees: bool = False) -> Loan:
    """One strongly consistent Query of the loan's partition (+ one GetItem for an invitee not known to be verified)."""
    record = visible_record(db, loan_id=loan_id, caller=caller, verified_invitees=verified_invitees)
    return views.record_seen_by(record, user_id=caller.user_id, email=caller.email, now=clock.now())


def my_loans(
    *,
    db: Dynamo,
    clock: Clock,
    borrower: Principal,
    account: AccountProof,
    status: LoanStatus | None,
    limit: int,
    cursor: str | None,
    late: bool = False,
) -> LoanPage:
    """The caller's loans, newest first: one Query on GSI1 (participants come from the loan item), whose first
    page also proves the caller's account (401 when it is gone; later pages: `account.settle(None)`, the once-per-token check).

    `late`: only active loans past due today (daysPastDue > 0), decided by the Query's filter from the
    stored next due date or, for a loan never repaid, from its activation date.
    """
    today = utc_date(clock.now())
    if late and status not in (None, "active"):
        account.settle(None)
        return LoanPage(items=[], next_cursor=None)  # only active loans can be late
    late_as_of = None
    if late:
        late_as_of = repository.LateAsOf(today=today, activated_before=latest_activation_already_due(today) + timedelta(days=1))
    page, found = repository.loans_of_borrower(
        db, borrower_id=borrower.user_id, status=status, limit=limit, cursor=cursor, now=clock.now(), late=late_as_of
    )
    account.settle(found)
    now = clock.now()
    items = [views.loan_seen_by(item, user_id=borrower.user_id, email=borrower.email, now=now) for item in page.items]
    return LoanPage(items=[item for item in items if item is not None], next_cursor=page.next_cursor)


def loan_events(*, db: Dynamo, caller: Principal, loan_id: str, limit: int, cursor: str | None) -> LoanEventPage:
    """A page of the loan's audit trail, oldest first; only the borrower may read it (404 for everyone else)."""
    record = visible_record(db, loan_id=loan_id, caller=caller)
    if record.borrower_id != caller.user_id:
        raise LoanNotFound()
    page = repository.event_page(db, loan_id=loan_id, caller_id=caller.user_id, limit=limit, cursor=cursor)
    return LoanEventPage(items=[views.event_public(item) for item in page.items], next_cursor=page.next_cursor)


def loan_payments(*, db: Dynamo, caller: Principal, loan_id: str, limit: int, cursor: str | None) -> PaymentPage:
    """The borrower sees every payment of the loan; a lender who accepted, only their own; anyone else 404."""
    record = visible_record(db, loan_id=loan_id, caller=caller)
    is_borrower = record.borrower_id == caller.user_id
    invitation = record.invitation_of(caller.email)
    if not is_borrower and (invitation is None or invitation.get("status") != "accepted"):
        raise LoanNotFound()
    owner = None if is_borrower else caller.user_id
    return bank_accounts.loan_payments(db=db, loan_id=loan_id, caller_id=caller.user_id, owner_id=owner, limit=limit, cursor=cursor)


def cancel_loan(*, db: Dynamo, clock: Clock, borrower: Principal, loan_id: str, request_id: str, verified_invitees: bool = False) -> Loan:
    """Borrower only, pending only; the loan and every invitation's loanStatus change in one transaction."""

    def attempt() -> Loan:
        # An invitee who has not proved they own the invited address learns nothing: 404, as for a stranger.
        record = visible_record(db, loan_id=loan_id, caller=borrower, verified_invitees=verified_invitees)
        if record.borrower_id != borrower.user_id:
            raise Forbidden("Only the borrower can cancel a loan")
        now = clock.now()
        if effective_status(record.loan, now) != "pending":
            raise LoanNotPending(repository.NOT_PENDING_TO_CANCEL)
        at = iso(now)
        actor = Actor(user_id=borrower.user_id, email=borrower.email, at=at, request_id=request_id)
        repository.commit_cancel(db, record, actor, caller_check=users_service.account_exists(user_id=borrower.user_id))
        record.loan.update(status="cancelled", cancelledAt=at)
        for invitation in record.invitations:
            invitation["loanStatus"] = "cancelled"
        return views.record_seen_by(record, user_id=borrower.user_id, email=borrower.email, now=now)

    cancelled = retry_on_lost_race(attempt, turns=db.turns(loan_id))
    logger.info("loan cancelled", extra={"request_id": request_id, "event": "loan_cancelled", "loan_id": loan_id})
    return cancelled


def borrower_overview(*, db: Dynamo, user_id: str) -> tuple[Item | None, list[Item]]:
    """The user item and every loan item they borrow, in one Query (the dashboard's first request)."""
    return repository.borrower_partition(db, user_id=user_id)


def invitations_of(*, db: Dynamo, email: str) -> list[Item]:
    """Every invitation item of `email` (one Query): for the lender role, login's count and the dashboard."""
    return repository.invitations_of(db, email=email)


def bank_account_in_use(*, db: Dynamo, owner: Principal, bank_account_id: str) -> bool:
    """Whether a loan still pending or active pays from or to this account of `owner`: an acceptance made with it
    (the invitation names it). One Query of the owner's invitations (GSI1 INVITE#<email>)."""
    return any(
        invitation.get("status") == "accepted"
        and invitation.get("bankAccountId") == bank_account_id
        and invitation.get("loanStatus") in ("pending", "active")
        for invitation in repository.invitations_of(db, email=owner.email)
    )


def loan_for_servicing(*, db: Dynamo, caller: Principal, loan_id: str) -> tuple[LoanRecord, bool]:
    """The loan partition and whether the caller borrows it; the borrower and the lenders who accepted only (404 otherwise)."""
    record = repository.read_loan(db, loan_id=loan_id) if is_loan_id(loan_id) else None
    if record is None:
        raise LoanNotFound()
    if record.borrower_id == caller.user_id:
        return record, True
    invitation = record.invitation_of(caller.email)
    if invitation is None or invitation["status"] != "accepted" or invitation.get("lenderId") != caller.user_id:
        raise LoanNotFound()
    return record, False


def repayment_operations(record: LoanRecord, actor: Actor, servicing: Servicing) -> list[Operation]:
    """The loan's operations of a repayment transaction (the loan first: it carries the race condition)."""
    return repository.repayment_operations(record, actor, servicing)


def servicing_of(loan: Item, today: date) -> ServicingView:
    """A loan item's outstanding principal, next payment and days past due as of `today` (read-time defaults included)."""
    fields = views.servicing_fields(loan, today)
    return ServicingView(
        outstanding_principal=fields["outstanding_principal"], next_payment=fields["next_payment"], days_past_due=fields["days_past_due"]
    )


def lender_figures_of(invitation: Item) -> tuple[Decimal, Decimal, Decimal] | None:
    """(principal repaid, interest paid, outstanding) of an accepted invitation on an active or repaid loan, else None."""
    return views.lender_figures(invitation, str(invitation.get("loanStatus", "")))


@dataclass(frozen=True)
class ServicingView:
    outstanding_principal: Decimal | None
    next_payment: NextPayment | None
    days_past_due: int


# The system's reads and moves (no caller: the notifications and the reminder job, never HTTP).


def loan_record(*, db: Dynamo, loan_id: str) -> LoanRecord | None:
    """The loan with its invitations as stored (one strongly consistent Query), whoever may see it; None if gone."""
    return repository.read_loan(db, loan_id=loan_id)


def funding_deadline_of(loan: Item) -> str:
    """The loan's funding deadline (loans created before deadlines existed read as createdAt + 14 days)."""
    return funding_deadline(loan)


def loans_to_remind(*, db: Dynamo, today: date) -> list[Item]:
    """Active loans whose reminder date has come (one Query per shard of the reminder index)."""
    return repository.loans_to_remind(db, today=today)


def move_reminder(*, db: Dynamo, loan: Item, on: date | None) -> bool:
    """Wake `loan` next on `on` (None: take it out of the reminders); False if something moved it first."""
    return repository.move_reminder(db, loan, on=on)
