"""Wire contract of /user: the dashboard and the profile update (the Profile itself is auth's)."""

from __future__ import annotations

from pydantic import Field, field_validator

from app.auth.schemas import PersonName, Phone, Role
from app.schemas import Amount, CamelModel, StrictInput


class ProfileUpdate(StrictInput):
    """Only these fields are writable; any other field (email, roles, ...) is a 422 naming it."""

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone: Phone | None = Field(default=None, description="E.164, e.g. +14155550123; null removes it")

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _names_cannot_be_removed(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; send a name or leave the field out")
        return value


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
