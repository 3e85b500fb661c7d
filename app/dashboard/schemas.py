"""Wire contract of the dashboard: a user's borrower figures and, for lenders, their lender figures."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from app.schemas import Amount, CamelModel, Role


class UpcomingPayment(CamelModel):
    """The earliest installment not fully paid among the borrower's active loans."""

    loan_id: str
    due_date: date
    amount: Amount = Field(description="What is still owed on it")


class BorrowerStats(CamelModel):
    total_loans: int = Field(description="Every loan the user created, whatever its status")
    pending_loans: int
    active_loans: int
    cancelled_loans: int
    total_requested: Amount = Field(description="Sum of amount over pending and active loans")
    total_funded: Amount = Field(description="Sum of fundedAmount over pending and active loans")
    active_borrowed: Amount = Field(description="Sum of amount over active loans")
    repaid_loans: int
    outstanding_principal: Amount = Field(description="Principal still owed over active loans")
    late_loans: int = Field(description="Active loans past due today (daysPastDue > 0)")
    next_payment: UpcomingPayment | None = Field(description="The earliest unpaid installment over active loans; null if none")


class LenderStats(CamelModel):
    pending_invitations: int = Field(description="Invitations still invited on pending loans")
    pending_amount: Amount = Field(description="Sum of the contributions of those invitations")
    accepted_count: int = Field(
        description="Accepted participations on pending or active loans (a pending loan past its funding deadline reads as expired)"
    )
    total_committed: Amount = Field(description="Sum of accepted contributions on pending or active loans (as acceptedCount)")
    active_investments: Amount = Field(description="Sum of accepted contributions on active loans")
    declined_count: int = Field(description="Invitations the user declined")
    outstanding_principal: Amount = Field(description="The user's principal still owed to them over active loans")
    principal_repaid: Amount = Field(description="Principal returned to the user over active and repaid loans")
    interest_earned: Amount = Field(description="Interest paid to the user over active and repaid loans")


class Dashboard(CamelModel):
    roles: list[Role]
    borrower: BorrowerStats
    lender: LenderStats | None = Field(description="Present iff the user holds the lender role")
