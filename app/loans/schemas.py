"""Wire contract of /loans and /lender: requests, the Loan and Invitation views, acceptance, audit events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from app.loans.records import funding_deadline
from app.payments.schemas import AccountType, AchDetailsInput
from app.schemas import (
    Amount,
    CamelModel,
    EmailAddress,
    Money,
    Page,
    Percent,
    StrictInput,
    Timestamp,
    json_number_only,
    trimmed,
    whole_number,
)

LoanStatus = Literal["pending", "active", "cancelled", "expired", "repaid"]
ParticipationStatus = Literal["invited", "accepted", "declined", "withdrawn"]
EventType = Literal[
    "created", "accepted", "declined", "activated", "cancelled", "expired", "funding_closed", "repayment_recorded", "repaid"
]


InterestRate = Annotated[
    Decimal,
    BeforeValidator(json_number_only),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": 100,
            "multipleOf": 0.01,
            "description": "Annual percent, at most 2 decimals",
            "examples": [7.25],
        }
    ),
    Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False, description="Annual percent, 0..100, at most 2 decimals"),
]
TermMonths = Annotated[
    int,
    Field(
        ge=1,
        le=360,
        description=(
            "Whole months, 1..360. With `amount` and `interestRate` it must give a sound schedule: a monthly installment of"
            " at least 1.00 that repays some principal in the first month (installment > amount x interestRate / 1200,"
            " in cents); otherwise 422 VALIDATION_ERROR naming termMonths"
        ),
        examples=[12],
    ),
    BeforeValidator(whole_number),
]
Purpose = Annotated[str, trimmed(500)]
FundingDays = Annotated[
    int,
    Field(ge=1, le=60, description="Days the loan stays open for funding (fundingDeadline = createdAt + fundingDays x 24 h)"),
    BeforeValidator(whole_number),
]
LenderEmail = EmailAddress


class LenderInvite(StrictInput):
    email: LenderEmail = Field(description="The invited lender's email (compared case-insensitively)")
    amount: Money = Field(description="This lender's contribution in dollars")


class LoanCreate(StrictInput):
    """Contributions must sum exactly to `amount`; no email twice; the borrower may not invite themself."""

    amount: Money
    purpose: Purpose
    term_months: TermMonths
    interest_rate: InterestRate
    lenders: list[LenderInvite] = Field(min_length=1, max_length=20)
    funding_days: FundingDays = 14


class Participant(CamelModel):
    """An invited lender; once accepted on an active or repaid loan, what they got back so far."""

    email: str
    amount: Amount
    status: ParticipationStatus
    lender_id: str | None
    responded_at: Timestamp | None
    principal_repaid: Amount | None = Field(
        default=None, description="Principal returned to this lender (accepted, active or repaid loans)"
    )
    interest_paid: Amount | None = Field(default=None, description="Interest paid to this lender (accepted, active or repaid loans)")
    outstanding_principal: Amount | None = Field(
        default=None, description="This lender's principal still owed (accepted, active or repaid loans)"
    )


class NextPayment(CamelModel):
    """The oldest installment not fully paid: its due date and what is still owed on it."""

    due_date: date
    amount: Amount


class Loan(CamelModel):
    """The `Loan` of the contract; an invited lender sees only their own participant."""

    @model_validator(mode="before")
    @classmethod
    def _stored_before_deadlines(cls, data: Any) -> Any:
        """A response stored for an Idempotency-Key replay before deadlines existed reads with their defaults."""
        if isinstance(data, dict) and "createdAt" in data and "fundingDeadline" not in data:
            data = {**data, "fundingDeadline": funding_deadline(data), "requestedAmount": data.get("amount")}
        return data

    loan_id: str
    borrower_id: str
    borrower_name: str
    amount: Amount
    funded_amount: Amount
    purpose: str
    term_months: int
    interest_rate: Percent
    status: LoanStatus = Field(description="expired: still pending when its funding deadline came (shown from the deadline on)")
    created_at: Timestamp
    activated_at: Timestamp | None
    funding_deadline: Timestamp = Field(description="createdAt + fundingDays x 24 h; accepting, declining and cancelling end there")
    requested_amount: Amount = Field(description="The amount asked for; amount differs only after funding was closed early")
    lenders: list[Participant]
    outstanding_principal: Amount | None = Field(default=None, description="Principal still owed; null before activation")
    next_payment: NextPayment | None = Field(default=None, description="The oldest unpaid installment; null unless active")
    days_past_due: int = Field(default=0, description="Days since the oldest unpaid due date once it has passed, else 0")
    repaid_at: Timestamp | None = None


class Invitation(CamelModel):
    """A pending invitation, with the loan's live fundedAmount."""

    loan_id: str
    borrower_name: str
    purpose: str
    loan_amount: Amount
    amount: Amount = Field(description="This lender's contribution")
    funded_amount: Amount
    term_months: int
    interest_rate: Percent
    invited_at: Timestamp
    funding_deadline: Timestamp


class AcceptRequest(StrictInput):
    """Exactly one of the two: the account's details (registered as a bank account of the lender, pending
    verification, unless they already have one with these numbers) or one of the lender's bank accounts."""

    ach_details: AchDetailsInput | None = None
    bank_account_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="One of the caller's bank accounts, not failed or closed"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> AcceptRequest:
        if (self.ach_details is None) == (self.bank_account_id is None):
            raise ValueError("give exactly one of achDetails and bankAccountId")
        return self


class AchDetails(CamelModel):
    account_holder_name: str
    account_type: AccountType
    routing_number_last4: str
    account_number_last4: str


class Acceptance(CamelModel):
    loan_id: str
    status: Literal["accepted"]
    amount: Amount
    funded_amount: Amount
    loan_status: LoanStatus
    bank_account_id: str = Field(description="The lender's bank account the contribution is debited from")
    ach_details: AchDetails


class Declined(CamelModel):
    loan_id: str
    status: Literal["declined"]


class LoanEvent(CamelModel):
    """One entry of a loan's append-only audit trail."""

    event_id: str
    type: EventType
    actor_id: str
    at: Timestamp
    amount: Amount | None
    lender_email: str | None = None
    request_id: str


class LoanEventPage(Page[LoanEvent]):
    """A page of a loan's audit trail, oldest first."""


class LoanPage(Page[Loan]):
    """A page of loans, newest first."""


class InvitationPage(Page[Invitation]):
    """A page of pending invitations, newest first."""
