"""Servicing routes under /loans/{loanId}: schedule, payoff, repayments. Thin: parse, call the service, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import CurrentUser
from app.dependencies import ClockDep, Cursor, Db, IdempotencyKey
from app.errors import request_id_of
from app.loans.dependencies import LoanId
from app.routing import JsonRoute
from app.schemas import ErrorResponse, Limit, Page
from app.servicing import service
from app.servicing.schemas import Payoff, Repayment, RepaymentCreate, Schedule

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "UNAUTHENTICATED"},
    404: {
        "model": ErrorResponse,
        "description": "NOT_FOUND: no such loan, or the caller is neither its borrower nor a lender who accepted",
    },
    409: {"model": ErrorResponse, "description": "LOAN_NOT_ACTIVE: the loan is pending or cancelled (or, to record a repayment, repaid)"},
}

router = APIRouter(prefix="/loans", tags=["servicing"], route_class=JsonRoute, responses=ERRORS)


@router.get("/{loanId}/schedule", response_model=Schedule, summary="The repayment schedule as it stands, with each installment's status")
def get_schedule(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep) -> Schedule:
    return service.get_schedule(db=db, clock=clock, caller=caller, loan_id=loan_id)


@router.get("/{loanId}/payoff", response_model=Payoff, summary="What repays the loan in full today")
def get_payoff(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep) -> Payoff:
    return service.get_payoff(db=db, clock=clock, caller=caller, loan_id=loan_id)


@router.post(
    "/{loanId}/repayments",
    status_code=201,
    response_model=Repayment,
    summary="Record a repayment (borrower only); it is allocated to installments and split among the lenders",
    responses={
        403: {"model": ErrorResponse, "description": "FORBIDDEN: a lender cannot record a repayment"},
        409: {"model": ErrorResponse, "description": "LOAN_NOT_ACTIVE, IDEMPOTENCY_IN_PROGRESS, or CONFLICT (retry)"},
        422: {
            "model": ErrorResponse,
            "description": "VALIDATION_ERROR, OVERPAYMENT (details name the payoff amount), IDEMPOTENCY_KEY_REUSED",
        },
    },
)
def record_repayment(
    loan_id: LoanId,
    body: RepaymentCreate,
    caller: CurrentUser,
    db: Db,
    clock: ClockDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Repayment:
    recorded = service.record_repayment(
        db=db, clock=clock, borrower=caller, loan_id=loan_id, body=body, request_id=request_id_of(request), idempotency_key=idempotency_key
    )
    if recorded.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return recorded.response


@router.get("/{loanId}/repayments", response_model=Page[Repayment], summary="The loan's repayments, newest first")
def list_repayments(
    loan_id: LoanId, caller: CurrentUser, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None
) -> Page[Repayment]:
    return service.list_repayments(db=db, caller=caller, loan_id=loan_id, limit=limit, cursor=cursor)
