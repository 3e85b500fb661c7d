"""Servicing routes under /loans/{loanId}: schedule, payoff, repayments, statement. Thin: parse, call the service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import WithJsonSchema

from app.auth.dependencies import CurrentUser
from app.dependencies import ClockDep, Cursor, Db, IdempotencyKey
from app.errors import request_id_of
from app.loans.dependencies import LoanId
from app.routing import JsonRoute
from app.schemas import Limit
from app.servicing import service, statements
from app.servicing.schemas import Payoff, Repayment, RepaymentCreate, RepaymentPage, Schedule, Statement, StatementFormat

router = APIRouter(prefix="/loans", tags=["servicing"], route_class=JsonRoute)


@router.get(
    "/{loanId}/schedule",
    operation_id="getSchedule",
    response_model=Schedule,
    summary="The repayment schedule as it stands, with each installment's status",
)
def get_schedule(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep) -> Schedule:
    return service.get_schedule(db=db, clock=clock, caller=caller, loan_id=loan_id)


@router.get("/{loanId}/payoff", operation_id="getPayoff", response_model=Payoff, summary="What repays the loan in full today")
def get_payoff(loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep) -> Payoff:
    return service.get_payoff(db=db, clock=clock, caller=caller, loan_id=loan_id)


@router.post(
    "/{loanId}/repayments",
    operation_id="recordRepayment",
    status_code=201,
    response_model=Repayment,
    summary="Record a repayment (borrower only); it is allocated to installments and split among the lenders",
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
    return recorded.answer(response)


@router.get(
    "/{loanId}/repayments", operation_id="listRepayments", response_model=RepaymentPage, summary="The loan's repayments, newest first"
)
def list_repayments(
    loan_id: LoanId, caller: CurrentUser, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None
) -> RepaymentPage:
    return service.list_repayments(db=db, caller=caller, loan_id=loan_id, limit=limit, cursor=cursor)


CSV_EXAMPLE = (
    "date,type,amount,principal,interest,balance\r\n"
    "2026-01-31,disbursement,1000.00,1000.00,0.00,1000.00\r\n"
    "2026-02-28,repayment,88.85,78.85,10.00,921.15\r\n"
)
Format = Annotated[
    StatementFormat | None,
    WithJsonSchema({"type": "string", "enum": ["json", "csv"]}),
    Query(alias="format", description="json or csv; without it, text/csv when the Accept header prefers it over application/json"),
]


@router.get(
    "/{loanId}/statement",
    operation_id="getStatement",
    response_model=Statement,
    responses={
        200: {
            "description": "The statement: JSON, or RFC 4180 CSV (format=csv, or Accept preferring text/csv)",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
            "headers": {
                "Content-Disposition": {
                    "description": 'CSV only: attachment; filename="loan-<loanId>-statement.csv"',
                    "schema": {"type": "string"},
                }
            },
        }
    },
    summary="The loan's statement (a lender's own lines), as JSON or CSV",
)
def get_statement(
    loan_id: LoanId, caller: CurrentUser, db: Db, clock: ClockDep, request: Request, output: Format = None
) -> Statement | Response:
    if statements.wants_csv(output, request.headers.get("accept")):
        text = service.get_statement_csv(db=db, caller=caller, loan_id=loan_id)
        disposition = f'attachment; filename="loan-{loan_id}-statement.csv"'
        return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
    return service.get_statement(db=db, clock=clock, caller=caller, loan_id=loan_id)
