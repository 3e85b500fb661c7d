"""Borrower routes: /loans (create, view, list, cancel, audit trail). Thin: parse, call the service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import Account, CurrentUser, TokenUser, VerifiedUser
from app.dependencies import ClockDep, Cursor, Db, IdempotencyKey, SettingsDep
from app.errors import request_id_of
from app.loans import creation_service, funding_service, service
from app.loans.dependencies import LoanId
from app.loans.quota import DailyLimits
from app.loans.schemas import Loan, LoanCreate, LoanEventPage, LoanPage, LoanStatus
from app.payments.schemas import PaymentPage
from app.routing import JsonRoute
from app.schemas import Limit

router = APIRouter(prefix="/loans", tags=["loans"], route_class=JsonRoute)


@router.post(
    "",
    operation_id="createLoan",
    status_code=201,
    response_model=Loan,
    summary="Create a loan and invite its lenders",
    description=(
        "Only once the caller's email is verified (403 EMAIL_NOT_VERIFIED before, while verification is required). "
        "Per account per UTC day at most LOAN_CREATE_DAILY_LIMIT loans (default 10) and INVITATION_DAILY_LIMIT "
        "invitations (default 60, the lenders of every loan created that day) are created: beyond, 429 RATE_LIMITED "
        "with Retry-After (seconds until the next UTC midnight) and nothing is written. A replay of an Idempotency-Key "
        "counts nothing."
    ),
)
def create_loan(
    body: LoanCreate,
    caller: VerifiedUser,
    db: Db,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Loan:
    limits = DailyLimits(loans=settings.loan_create_daily_limit, invitations=settings.invitation_daily_limit)
    created = creation_service.create_loan(
        db=db, clock=clock, borrower=caller, loan=body, request_id=request_id_of(request), limits=limits, idempotency_key=idempotency_key
    )
    return created.answer(response)


@router.get("/my-loans", operation_id="listMyLoans", response_model=LoanPage, summary="The caller's loans as borrower, newest first")
def my_loans(
    caller: TokenUser,
    account: Account,
    db: Db,
    clock: ClockDep,
    status: Annotated[LoanStatus | None, Query(description="Only loans in this status")] = None,
    late: Annotated[
        bool, Query(description="true: only active loans past due today (daysPastDue > 0); with another status the list is empty")
    ] = False,
    limit: Annotated[Limit, Query()] = 20,
    cursor: Cursor = None,
) -> LoanPage:
    return service.my_loans(db=db, clock=clock, borrower=caller, account=account, status=status, limit=limit, cursor=cursor, late=late)


@router.get("/{loanId}", operation_id="getLoan", response_model=Loan, summary="A loan (an invited lender sees only their own participant)")
def get_loan(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep, settings: SettingsDep) -> Loan:
    verified_invitees = settings.email_verification == "required"
    return service.get_loan(db=db, clock=clock, caller=caller, loan_id=loan_id, verified_invitees=verified_invitees)


@router.post(
    "/{loanId}/cancel",
    operation_id="cancelLoan",
    response_model=Loan,
    summary="Cancel a pending loan (borrower only)",
    description="An invited lender gets 403; anyone else 404, an invited account whose email is not verified included "
    "(while verification is required). 409 LOAN_NOT_PENDING once the loan is not pending (expired included).",
)
def cancel_loan(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep, settings: SettingsDep, request: Request) -> Loan:
    verified_invitees = settings.email_verification == "required"
    return service.cancel_loan(
        db=db, clock=clock, borrower=caller, loan_id=loan_id, request_id=request_id_of(request), verified_invitees=verified_invitees
    )


@router.get(
    "/{loanId}/events",
    operation_id="listLoanEvents",
    response_model=LoanEventPage,
    summary="The loan's append-only audit trail, oldest first (borrower only)",
    description="Every state change (created, accepted, declined, activated, cancelled) with who, when, "
    "the amount and the request id; written in the same transaction as the change.",
)
def loan_events(
    loan_id: LoanId, caller: CurrentUser, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None
) -> LoanEventPage:
    return service.loan_events(db=db, caller=caller, loan_id=loan_id, limit=limit, cursor=cursor)


@router.get(
    "/{loanId}/payments",
    operation_id="listLoanPayments",
    response_model=PaymentPage,
    summary="The loan's ACH payments, newest first",
    description="The borrower sees every payment of the loan; a lender who accepted sees only their own; anyone else 404.",
)
def loan_payments(
    loan_id: LoanId, caller: CurrentUser, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None
) -> PaymentPage:
    return service.loan_payments(db=db, caller=caller, loan_id=loan_id, limit=limit, cursor=cursor)


@router.post(
    "/{loanId}/close-funding",
    operation_id="closeFunding",
    response_model=Loan,
    summary="Close funding early: the loan becomes active on what is funded (borrower only)",
    description="Allowed on a pending loan once at least MIN_PARTIAL_FUNDING_PERCENT (default 50) percent of the amount is "
    "funded: amount becomes fundedAmount, requestedAmount keeps the original, open invitations are withdrawn. "
    "An invited lender gets 403; anyone else 404, an invited account whose email is not verified included.",
)
def close_funding(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep, settings: SettingsDep, request: Request) -> Loan:
    return funding_service.close_funding(
        db=db, clock=clock, settings=settings, borrower=caller, loan_id=loan_id, request_id=request_id_of(request)
    )
