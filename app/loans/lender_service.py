"""Lender rules: pending invitations, accept with ACH details (activating the loan exactly once), decline."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from app.auth.tokens import Principal
from app.clock import Clock, iso, uuid7
from app.loans import repository, views
from app.loans.errors import AlreadyResponded, LoanNotFound, LoanNotPending, NotInvited
from app.loans.records import LoanRecord, effective_status, is_loan_id
from app.loans.schemas import Acceptance, AchDetails, Declined, InvitationPage, LoanPage, LoanStatus
from app.payments import bank_accounts, sealing
from app.payments.schemas import AchDetailsInput
from app.retry import retry_on_lost_race
from app.users import service as users_service

if TYPE_CHECKING:
    from app.auth.accounts import AccountProof
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.loans")


def _invited_record(db: Dynamo, *, loan_id: str, lender: Principal, now: datetime) -> tuple[LoanRecord, Item]:
    """The loan and the caller's invitation, still open on a loan pending at `now`; else the contract's error."""
    record = repository.read_loan(db, loan_id=loan_id) if is_loan_id(loan_id) else None
    invitation = record.invitation_of(lender.email) if record else None
    if record is None or invitation is None:
        raise NotInvited()
    if invitation["status"] == "withdrawn":  # funding closed while it was open: the loan left pending, no answer was given
        raise LoanNotPending()
    if invitation["status"] != "invited":
        raise AlreadyResponded()
    if effective_status(record.loan, now) != "pending":
        raise LoanNotPending()
    return record, invitation


def accept_invitation(
    *,
    db: Dynamo,
    clock: Clock,
    keys: sealing.DataKeySource,
    lender: Principal,
    loan_id: str,
    details: AchDetailsInput | None,
    bank_account_id: str | None = None,
    request_id: str,
) -> Acceptance:
    """ONE transaction: participation accepted with its bank account, fundedAmount += contribution, lender role held.

    The bank account is one of the lender's (`bank_account_id`, or the one with the numbers of `details`),
    or, for new numbers, a new account pending verification with its micro-deposits, in the same
    transaction. When this contribution completes the funding, the same transaction activates the loan
    (exactly once: its condition is fundedAmount = amount - contribution on a pending loan).
    """
    new_account_id = uuid7()
    sealed: Item | None = None

    def attempt() -> tuple[LoanRecord, Decimal, bool, Item]:
        nonlocal sealed
        now = clock.now()
        record, invitation = _invited_record(db, loan_id=loan_id, lender=lender, now=now)
        at = iso(now)
        if sealed is None and details is not None:  # encrypt once, and only for a real invitation
            sealed = sealing.seal(
                keys=keys,
                binding=sealing.Binding.bank_account(lender.user_id, new_account_id),
                routing_number=details.routing_number,
                account_number=details.account_number,
            )
        use = bank_accounts.account_for_acceptance(
            db=db,
            keys=keys,
            lender=lender,
            details=details,
            bank_account_id=bank_account_id,
            new_account_id=new_account_id,
            sealed=sealed,
            now=now,
            request_id=request_id,
        )
        contribution = Decimal(invitation["amount"])
        completes = contribution == Decimal(record.loan["amount"]) - Decimal(record.loan["fundedAmount"])
        binding = repository.AccountBinding(bank_account_id=use.account["bankAccountId"], first=use.first, rest=use.rest)
        actor = repository.Actor(user_id=lender.user_id, email=lender.email, at=at, request_id=request_id)
        grant = users_service.lender_grant(user_id=lender.user_id, at=at)
        repository.commit_acceptance(db, record, actor, account=binding, lender_grant=grant, completes=completes)
        return record, contribution, completes, use.account

    record, contribution, completes, account = retry_on_lost_race(attempt, turns=db.turns(loan_id))
    logger.info("invitation accepted", extra={"request_id": request_id, "event": "invitation_accepted", "loan_id": loan_id})
    if completes:
        logger.info("loan activated", extra={"request_id": request_id, "event": "loan_activated", "loan_id": loan_id})
    funded, loan_status = _funding_after_acceptance(db, record, completes=completes)
    public = bank_accounts.public(account)
    return Acceptance(
        loan_id=loan_id,
        status="accepted",
        amount=contribution,
        funded_amount=funded,
        loan_status=loan_status,
        bank_account_id=public.bank_account_id,
        ach_details=AchDetails(
            account_holder_name=public.account_holder_name,
            account_type=public.account_type,
            routing_number_last4=public.routing_number_last4,
            account_number_last4=public.account_number_last4,
        ),
    )


def _funding_after_acceptance(db: Dynamo, record: LoanRecord, *, completes: bool) -> tuple[Decimal, LoanStatus]:
    """The loan's fundedAmount and status once our acceptance committed.

    The final acceptance knows them (amount, active). Any other one re-reads the loan: its
    condition is arithmetic (fundedAmount < amount - contribution), so other acceptances may have
    committed between our read and our write, and "what we read + our contribution" could be a
    figure lower than the loan ever had after our commit.
    """
    if completes:
        return Decimal(record.loan["amount"]), "active"
    live = repository.live_loan(db, loan_id=record.loan_id, borrower_id=record.borrower_id)
    if live is None:  # pragma: no cover - loans are never deleted
        raise LoanNotFound()
    return Decimal(live["fundedAmount"]), live["status"]


def decline_invitation(*, db: Dynamo, clock: Clock, lender: Principal, loan_id: str, request_id: str) -> Declined:
    """The participation becomes declined (only while invited on a pending loan)."""

    def attempt() -> None:
        now = clock.now()
        record, _ = _invited_record(db, loan_id=loan_id, lender=lender, now=now)
        actor = repository.Actor(user_id=lender.user_id, email=lender.email, at=iso(now), request_id=request_id)
        repository.commit_decline(db, record, actor, caller_check=users_service.account_exists(user_id=lender.user_id))

    retry_on_lost_race(attempt, turns=db.turns(loan_id))
    logger.info("invitation declined", extra={"request_id": request_id, "event": "invitation_declined", "loan_id": loan_id})
    return Declined(loan_id=loan_id, status="declined")


def pending_invitations(*, db: Dynamo, clock: Clock, lender: Principal, limit: int, cursor: str | None) -> InvitationPage:
    """Invitations still `invited` on pending loans before their deadline: one Query on GSI1 + one BatchGetItem."""
    now = clock.now()
    page = repository.invitation_page(
        db, email=lender.email, caller_id=lender.user_id, status="invited", loan_status="pending", limit=limit, cursor=cursor, open_at=now
    )
    loans = repository.loans_of_invitations(db, page.items)
    items = [
        views.invitation_public(invitation, loans[invitation["loanId"]])
        for invitation in page.items
        if invitation["loanId"] in loans and effective_status(loans[invitation["loanId"]], now) == "pending"
    ]
    return InvitationPage(items=items, next_cursor=page.next_cursor)


def accepted_loans(*, db: Dynamo, clock: Clock, lender: Principal, account: AccountProof, limit: int, cursor: str | None) -> LoanPage:
    """Loans the caller accepted, newest first, in the lender view: one Query on GSI1 + one BatchGetItem, which
    also gets the caller's user item and so proves the account (401 when it is gone). An empty page, or a full
    page of 100 (the BatchGetItem holds no more keys), falls back to `account.settle(None)`, the once-per-token check."""
    page = repository.invitation_page(
        db, email=lender.email, caller_id=lender.user_id, status="accepted", loan_status=None, limit=limit, cursor=cursor
    )
    loans, user_found = repository.loans_of_invitations_and_user(db, page.items, user_id=lender.user_id)
    account.settle(user_found)
    now = clock.now()
    items = []
    for invitation in page.items:
        loan = loans.get(invitation["loanId"])
        if loan is not None:
            items.append(views.loan_public(loan, [views.participant_of(invitation, loan["status"])], now))
    return LoanPage(items=items, next_cursor=page.next_cursor)
