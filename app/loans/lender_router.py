"""Lender routes: /lender (pending invitations, accept with ACH details, decline, accepted loans).

Seeing and answering invitations needs a verified email (VerifiedUser): an invitation is addressed to an
email, so an account must prove it owns that address before it may see or act on one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.auth.dependencies import Account, TokenUser, VerifiedUser
from app.dependencies import ClockDep, Cursor, Db
from app.errors import request_id_of
from app.loans import lender_service
from app.loans.dependencies import LoanId
from app.loans.schemas import Acceptance, AcceptRequest, Declined, InvitationPage, LoanPage
from app.payments.dependencies import AchKeys
from app.routing import JsonRoute
from app.schemas import Limit

VERIFIED_ONLY = "Only once the caller's email is verified (403 EMAIL_NOT_VERIFIED before, while verification is required)."
ANSWER_REFUSALS = (
    " 409 ALREADY_RESPONDED: the caller already accepted or declined; 409 LOAN_NOT_PENDING: the loan is no longer pending,"
    " a withdrawn invitation included (the borrower closed funding while it was open)."
)

router = APIRouter(
    prefix="/lender",
    tags=["lender"],
    route_class=JsonRoute,
)


@router.get(
    "/pending",
    operation_id="listPendingInvitations",
    response_model=InvitationPage,
    summary="Invitations still open on pending loans, newest first",
    description=VERIFIED_ONLY,
)
def pending(caller: VerifiedUser, db: Db, clock: ClockDep, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None) -> InvitationPage:
    return lender_service.pending_invitations(db=db, clock=clock, lender=caller, limit=limit, cursor=cursor)


@router.put(
    "/accept/{loanId}",
    operation_id="acceptInvitation",
    response_model=Acceptance,
    summary="Accept an invitation with a bank account (atomic; activates the loan when fully funded)",
    description=VERIFIED_ONLY
    + " The body holds exactly one of achDetails (registered as a bank account of the caller, pending verification "
    "by micro-deposits, unless the caller already has one with these numbers) and bankAccountId (one of the caller's "
    "accounts: 404 if it is not, 409 VERIFICATION_FAILED if it failed); both or neither: 422." + ANSWER_REFUSALS,
)
def accept(
    loan_id: LoanId, body: AcceptRequest, caller: VerifiedUser, db: Db, clock: ClockDep, keys: AchKeys, request: Request
) -> Acceptance:
    return lender_service.accept_invitation(
        db=db,
        clock=clock,
        keys=keys,
        lender=caller,
        loan_id=loan_id,
        details=body.ach_details,
        bank_account_id=body.bank_account_id,
        request_id=request_id_of(request),
    )


@router.put(
    "/decline/{loanId}",
    operation_id="declineInvitation",
    response_model=Declined,
    summary="Decline an invitation",
    description=VERIFIED_ONLY + ANSWER_REFUSALS,
)
def decline(loan_id: LoanId, caller: VerifiedUser, db: Db, clock: ClockDep, request: Request) -> Declined:
    return lender_service.decline_invitation(db=db, clock=clock, lender=caller, loan_id=loan_id, request_id=request_id_of(request))


@router.get(
    "/loans", operation_id="listLenderLoans", response_model=LoanPage, summary="Loans the caller accepted (lender view), newest first"
)
def accepted_loans(
    caller: TokenUser, account: Account, db: Db, clock: ClockDep, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None
) -> LoanPage:
    return lender_service.accepted_loans(db=db, clock=clock, lender=caller, account=account, limit=limit, cursor=cursor)
