"""Wire contract of servicing: the schedule, the payoff, repayments and their distribution to lenders."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Literal

from pydantic import Field

from app.loans.schemas import LoanStatus
from app.schemas import Amount, CamelModel, Money, Page, StrictInput, Timestamp

InstallmentStatus = Literal["upcoming", "partial", "paid", "late"]
StatementLineType = Literal["disbursement", "repayment"]
StatementFormat = Literal["json", "csv"]


class RepaymentCreate(StrictInput):
    amount: Money = Field(description="Dollars paid by the borrower; at most the payoff amount")


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
