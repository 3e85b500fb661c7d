"""Borrower routes: /loans (create, view, list, cancel, audit trail). Thin: parse, call the service, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import CurrentUser
from app.dependencies import ClockDep, Cursor, Db, IdempotencyKey
from app.errors import request_id_of
from app.loans import service
from app.loans.dependencies import LoanId
from app.loans.schemas import LoanCreate, LoanEvents, LoanPublic, LoanStatus
from app.routing import JsonRoute
from app.schemas import ErrorResponse, Limit, Page

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "UNAUTHENTICATED"},
    404: {"model": ErrorResponse, "description": "NOT_FOUND: no such loan, or not visible to the caller"},
}

router = APIRouter(prefix="/loans", tags=["loans"], route_class=JsonRoute, responses=ERRORS)


@router.post(
    "",
    status_code=201,
    response_model=LoanPublic,
    summary="Create a loan and invite its lenders",
    responses={
        409: {"model": ErrorResponse, "description": "IDEMPOTENCY_IN_PROGRESS: the same key is being processed"},
        422: {
            "model": ErrorResponse,
            "description": "VALIDATION_ERROR, CONTRIBUTIONS_MISMATCH, DUPLICATE_LENDER, SELF_INVITE, IDEMPOTENCY_KEY_REUSED",
        },
    },
)
def create_loan(
    body: LoanCreate,
    caller: CurrentUser,
    db: Db,
    clock: ClockDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> LoanPublic:
    created = service.create_loan(
        db=db, clock=clock, borrower=caller, loan=body, request_id=request_id_of(request), idempotency_key=idempotency_key
    )
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return created.response


@router.get("/my-loans", response_model=Page[LoanPublic], summary="The caller's loans as borrower, newest first")
def my_loans(
    caller: CurrentUser,
    db: Db,
    clock: ClockDep,
    status: Annotated[LoanStatus | None, Query(description="Only loans in this status")] = None,
    limit: Annotated[Limit, Query()] = 20,
    cursor: Cursor = None,
) -> Page[LoanPublic]:
    return service.my_loans(db=db, clock=clock, borrower=caller, status=status, limit=limit, cursor=cursor)


@router.get("/{loanId}", response_model=LoanPublic, summary="A loan (an invited lender sees only their own participant)")
def get_loan(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep) -> LoanPublic:
    return service.get_loan(db=db, clock=clock, caller=caller, loan_id=loan_id)


@router.post(
    "/{loanId}/cancel",
    response_model=LoanPublic,
    summary="Cancel a pending loan (borrower only)",
    responses={
        403: {"model": ErrorResponse, "description": "FORBIDDEN: an invited lender is not the borrower"},
        409: {"model": ErrorResponse, "description": "LOAN_NOT_PENDING"},
    },
)
def cancel_loan(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep, request: Request) -> LoanPublic:
    return service.cancel_loan(db=db, clock=clock, borrower=caller, loan_id=loan_id, request_id=request_id_of(request))


@router.get(
    "/{loanId}/events",
    response_model=LoanEvents,
    summary="The loan's append-only audit trail, oldest first (borrower only)",
    description="Every state change (created, accepted, declined, activated, cancelled) with who, when, "
    "the amount and the request id; written in the same transaction as the change.",
)
def loan_events(loan_id: LoanId, caller: CurrentUser, db: Db) -> LoanEvents:
    return service.loan_events(db=db, caller=caller, loan_id=loan_id)
