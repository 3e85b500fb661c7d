"""Wire contract of servicing: the schedule, the payoff, repayments and their distribution to lenders."""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from app.loans.schemas import LoanStatus
from app.schemas import Amount, CamelModel, Page, StrictInput, Timestamp, json_number_only

InstallmentStatus = Literal["upcoming", "partial", "paid", "late"]
StatementLineType = Literal["disbursement", "repayment"]
StatementFormat = Literal["json", "csv"]


# A bound on the number only, far above any payoff (at most 10,000,000 lent at 100% over 360 months owes < 400,000,000).
MAX_REPAYMENT_NUMBER = Decimal("999999999999.99")
REPAYMENT_AMOUNT = (
    "Dollars paid by the borrower, at most 2 decimal places. Its upper bound is the loan's payoff amount, not the money "
    "maximum of other inputs (10,000,000): a payoff above 10,000,000 can be repaid in one repayment; above the payoff, "
    "422 OVERPAYMENT naming payoffAmount. The maximum below only bounds the number."
)
RepaymentAmount = Annotated[
    Decimal,
    BeforeValidator(json_number_only),
    Field(gt=0, le=MAX_REPAYMENT_NUMBER, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 999999999999.99,
            "multipleOf": 0.01,
            "description": REPAYMENT_AMOUNT,
            "examples": [250.5],
        }
    ),
]


class RepaymentCreate(StrictInput):
    amount: RepaymentAmount = Field(description=REPAYMENT_AMOUNT)


class Installment(CamelModel):
    number: int
    due_date: date
    amount: Amount = Field(description="principal + interest")
    principal: Amount
    interest: Amount
    balance_after: Amount = Field(description="Principal still owed once this installment is paid")
    paid_principal: Amount
    paid_interest: Amount
    status: InstallmentStatus = Field(description="late: due date passed, not fully paid")


class Schedule(CamelModel):
    """The schedule as it stands: fixed at activation, later installments recomputed after a prepayment."""

    loan_id: str
    installment_amount: Amount
    total_interest: Amount = Field(description="Interest of the schedule as it stands")
    total_payable: Amount = Field(description="amount + totalInterest")
    installments: list[Installment]


class Payoff(CamelModel):
    """What repays the loan in full today (no daily proration)."""

    loan_id: str
    as_of: date
    principal: Amount = Field(description="Outstanding principal")
    interest: Amount = Field(description="Unpaid interest of installments due by today + the next upcoming installment's interest")
    amount: Amount = Field(description="principal + interest")


class Distribution(CamelModel):
    lender_id: str
    email: str
    principal: Amount
    interest: Amount


class Repayment(CamelModel):
    """A recorded repayment; an accepted lender sees only their own distribution."""

    repayment_id: str
    loan_id: str
    amount: Amount
    principal: Amount
    interest: Amount
    recorded_at: Timestamp
    recorded_by: str
    outstanding_principal_after: Amount
    loan_status: LoanStatus
    distributions: list[Distribution]


class RepaymentPage(Page[Repayment]):
    """A page of repayments, newest first."""


class StatementLine(CamelModel):
    date: dt.date = Field(description="UTC date: the activation date for the disbursement, the day it was recorded for a repayment")
    type: StatementLineType
    amount: Amount = Field(description="Disbursed, or repaid (principal + interest)")
    principal: Amount
    interest: Amount
    balance: Amount = Field(description="Principal outstanding after this line (for a lender: of their contribution)")


class Statement(CamelModel):
    """The loan's statement (the borrower's) or a lender's own: the disbursement, then every repayment oldest first."""

    loan_id: str
    as_of: date = Field(description="Today (UTC)")
    lines: list[StatementLine]
    total_principal: Amount = Field(description="Sum of the repayment lines' principal")
    total_interest: Amount = Field(description="Sum of the repayment lines' interest")
    closing_balance: Amount = Field(description="The last line's balance: the disbursement minus totalPrincipal")
