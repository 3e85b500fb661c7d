"""Wire contract of the dashboard: a user's borrower figures and, for lenders, their lender figures."""

from __future__ import annotations

from pydantic import Field

from app.schemas import Amount, CamelModel, Role


class BorrowerStats(CamelModel):
    total_loans: int = Field(description="Every loan the user created, whatever its status")
    pending_loans: int
    active_loans: int
    cancelled_loans: int
    total_requested: Amount = Field(description="Sum of amount over pending and active loans")
    total_funded: Amount = Field(description="Sum of fundedAmount over pending and active loans")
    active_borrowed: Amount = Field(description="Sum of amount over active loans")


class LenderStats(CamelModel):
    pending_invitations: int = Field(description="Invitations still invited on pending loans")
    pending_amount: Amount = Field(description="Sum of the contributions of those invitations")
    accepted_count: int = Field(description="Accepted participations on pending or active loans")
    total_committed: Amount = Field(description="Sum of accepted contributions on pending or active loans")
    active_investments: Amount = Field(description="Sum of accepted contributions on active loans")
    declined_count: int = Field(description="Invitations the user declined")


class Dashboard(CamelModel):
    roles: list[Role]
    borrower: BorrowerStats
    lender: LenderStats | None = Field(description="Present iff the user holds the lender role")
