"""Creating a loan: the rules checked before any write, then ONE transaction with the loan, its invitations,
its `created` event and the borrower's daily quota count (app/loans/quota.py), plus the idempotency record."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from app import idempotency
from app.auth.tokens import Principal
from app.clock import Clock, iso, uuid7
from app.errors import RateLimited, RuleViolation
from app.loans import quota, repository, views
from app.loans.repository import Actor
from app.loans.schemas import Loan, LoanCreate
from app.retry import retry_on_lost_race
from app.servicing.schedule import schedule_problem
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.loans")


def _rule(code: str, message: str, field: str) -> RuleViolation:
    return RuleViolation(message, code=code, details=[{"field": field, "location": "body", "reason": message}])


def check_loan_rules(*, borrower: Principal, loan: LoanCreate) -> None:
    """A sound schedule (app/servicing/schedule.py); contributions sum exactly to the amount; no lender twice
    (case-insensitive); no self-invitation."""
    problem = schedule_problem(loan.amount, loan.interest_rate, loan.term_months)
    if problem is not None:
        raise _rule("VALIDATION_ERROR", problem, "termMonths")
    if sum((lender.amount for lender in loan.lenders), Decimal(0)) != loan.amount:
        raise _rule("CONTRIBUTIONS_MISMATCH", "The lenders' amounts must sum exactly to the loan amount", "lenders")
    emails = [lender.email for lender in loan.lenders]
    if len(set(emails)) != len(emails):
        raise _rule("DUPLICATE_LENDER", "Each lender may be invited only once", "lenders")
    if borrower.email in emails:
        raise _rule("SELF_INVITE", "The borrower cannot invite themself", "lenders")


def create_loan(
    *,
    db: Dynamo,
    clock: Clock,
    borrower: Principal,
    loan: LoanCreate,
    request_id: str,
    limits: quota.DailyLimits,
    idempotency_key: str | None = None,
) -> idempotency.Outcome[Loan]:
    """The loan, its invitations, its `created` event and the day's quota count in ONE transaction (plus the idempotency record)."""
    check_loan_rules(borrower=borrower, loan=loan)
    quota.check_fits(limits, invitations=len(loan.lenders), now=clock.now())
    outcome = idempotency.run_once(
        db=db,
        user_id=borrower.user_id,
        key=idempotency_key,
        request=loan.model_dump(mode="json"),
        now=clock.now(),
        request_id=request_id,
        status=201,
        model=Loan,
        work=lambda completion: _write_loan(
            db=db, clock=clock, borrower=borrower, loan=loan, request_id=request_id, limits=limits, completion=completion
        ),
    )
    if not outcome.replayed:
        logger.info("loan created", extra={"request_id": request_id, "event": "loan_created", "loan_id": outcome.response.loan_id})
    return outcome


def _write_loan(
    *,
    db: Dynamo,
    clock: Clock,
    borrower: Principal,
    loan: LoanCreate,
    request_id: str,
    limits: quota.DailyLimits,
    completion: idempotency.Completion,
) -> Loan:
    # The GetItem gives the borrower's name (and a quick 401); the transaction re-checks the account, atomically.
    user = users_service.get_user(db=db, user_id=borrower.user_id)
    if user is None:
        raise users_service.account_gone()
    now = clock.now()
    at, loan_id = iso(now), uuid7(now)
    loan_item, invitations = repository.new_loan_items(
        repository.NewLoan(
            loan_id=loan_id,
            borrower_id=borrower.user_id,
            borrower_name=user.full_name,
            amount=loan.amount,
            purpose=loan.purpose,
            term_months=loan.term_months,
            interest_rate=loan.interest_rate,
            lenders=[(lender.email, lender.amount) for lender in loan.lenders],
            at=at,
            funding_deadline=iso(now + timedelta(days=loan.funding_days)),
        )
    )
    actor = Actor(user_id=borrower.user_id, email=borrower.email, at=at, request_id=request_id)
    public = views.loan_public(loan_item, [views.participant_of(entry, "pending") for entry in loan_item["participants"]], now)
    stored = completion(public) if completion else None
    caller_check = users_service.account_exists(user_id=borrower.user_id)
    invited = len(invitations)
    counted = quota.count_creation(borrower.user_id, limits, invitations=invited, now=now)

    def over_quota(seen: Item | None) -> RateLimited:
        return quota.refusal(limits, invitations=invited, now=now, counted=seen)

    def insert() -> None:  # creations of one borrower collide on the day's counter: a collision is re-run, not refused
        repository.insert_loan(
            db,
            loan_item=loan_item,
            invitations=invitations,
            actor=actor,
            caller_check=caller_check,
            quota=counted,
            over_quota=over_quota,
            completion=stored,
        )

    retry_on_lost_race(insert, turns=db.turns(f"quota:{borrower.user_id}"))
    return public
