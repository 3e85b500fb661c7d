"""Lender routes: /lender (pending invitations, accept with ACH details, decline, accepted loans)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.auth.dependencies import CurrentUser
from app.dependencies import ClockDep, Cursor, Db
from app.errors import request_id_of
from app.loans import lender_service
from app.loans.dependencies import AchKeys, LoanId
from app.loans.schemas import Acceptance, AcceptRequest, Declined, InvitationPublic, LoanPublic
from app.routing import JsonRoute
from app.schemas import ErrorResponse, Limit, Page

router = APIRouter(
    prefix="/lender",
    tags=["lender"],
    route_class=JsonRoute,
    responses={401: {"model": ErrorResponse, "description": "UNAUTHENTICATED"}},
)
RESPOND_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "NOT_FOUND: the caller's email is not invited to this loan"},
    409: {"model": ErrorResponse, "description": "ALREADY_RESPONDED, LOAN_NOT_PENDING, or CONFLICT (retry)"},
}


@router.get("/pending", response_model=Page[InvitationPublic], summary="Invitations still open on pending loans, newest first")
def pending(caller: CurrentUser, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None) -> Page[InvitationPublic]:
    return lender_service.pending_invitations(db=db, lender=caller, limit=limit, cursor=cursor)


@router.put(
    "/accept/{loanId}",
    response_model=Acceptance,
    summary="Accept an invitation with ACH details (atomic; activates the loan when fully funded)",
    responses=RESPOND_ERRORS,
)
def accept(
    loan_id: LoanId, body: AcceptRequest, caller: CurrentUser, db: Db, clock: ClockDep, keys: AchKeys, request: Request
) -> Acceptance:
    return lender_service.accept_invitation(
        db=db, clock=clock, keys=keys, lender=caller, loan_id=loan_id, details=body.ach_details, request_id=request_id_of(request)
    )


@router.put("/decline/{loanId}", response_model=Declined, summary="Decline an invitation", responses=RESPOND_ERRORS)
def decline(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep, request: Request) -> Declined:
    return lender_service.decline_invitation(db=db, clock=clock, lender=caller, loan_id=loan_id, request_id=request_id_of(request))


@router.get("/loans", response_model=Page[LoanPublic], summary="Loans the caller accepted (lender view), newest first")
def accepted_loans(
    caller: CurrentUser, db: Db, clock: ClockDep, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None
) -> Page[LoanPublic]:
    return lender_service.accepted_loans(db=db, clock=clock, lender=caller, limit=limit, cursor=cursor)
