"""Wire contract of /bank-accounts and of payments: bank details in (never out whole), BankAccount, Payment."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from app.ach.records import ach_text
from app.money.routing import ROUTING_PATTERN, valid_routing_number
from app.schemas import Amount, CamelModel, Money, Page, StrictInput, Timestamp, trimmed


def _fits_an_ach_entry(value: str) -> str:
    """A name must keep at least one letter or digit once written in the ACH alphabet (the file carries that)."""
    if not any(character.isalnum() for character in ach_text(value)):
        raise ValueError("must contain at least one letter or digit the bank can print (A-Z, 0-9)")
    return value


HolderName = Annotated[str, trimmed(100), AfterValidator(_fits_an_ach_entry)]
RoutingNumber = Annotated[
    str,
    StringConstraints(pattern=ROUTING_PATTERN),
    AfterValidator(valid_routing_number),
    Field(
        description="9 digits: a Federal Reserve prefix (first two digits 01-12, 21-32, 61-72 or 80) and a valid ABA "
        "checksum (3, 7, 1 weights, sum divisible by 10); a number that fails either is refused (422 VALIDATION_ERROR)",
        json_schema_extra={"x-checksum": "ABA"},
        examples=["021000021"],
    ),
]
AccountNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,17}$"), Field(description="4..17 digits", examples=["000123456789"])]
AccountType = Literal["checking", "savings"]
BankAccountStatus = Literal["pending_verification", "verified", "failed", "closed"]
PaymentKind = Literal["verification", "funding", "disbursement", "collection", "payout", "refund"]
PaymentStatus = Literal["scheduled", "submitted", "settled", "returned", "cancelled"]
Direction = Literal["debit", "credit"]


class AchDetailsInput(StrictInput):
    """A bank account's details as its owner types them; the numbers are sealed before anything is written."""

    account_holder_name: HolderName
    routing_number: RoutingNumber
    account_number: AccountNumber
    account_type: AccountType

    def __repr__(self) -> str:  # never let the numbers reach a log or a traceback
        return f"AchDetailsInput(account_type={self.account_type!r}, ...)"

    __str__ = __repr__


class BankAccountCreate(AchDetailsInput):
    """POST /bank-accounts: the same fields and rules as an acceptance's achDetails."""


class VerificationAmounts(StrictInput):
    amounts: list[Money] = Field(min_length=2, max_length=2, description="The two micro-deposits, in any order")


class BankAccount(CamelModel):
    bank_account_id: str
    account_holder_name: str
    account_type: AccountType
    routing_number_last4: str
    account_number_last4: str
    status: BankAccountStatus
    verification_attempts_left: int = Field(ge=0, le=3)
    created_at: Timestamp
    verified_at: Timestamp | None


class BankAccountPage(Page[BankAccount]):
    pass


class Payment(CamelModel):
    payment_id: str
    loan_id: str | None
    kind: PaymentKind
    direction: Direction
    amount: Amount
    bank_account_id: str
    status: PaymentStatus
    effective_date: str | None = Field(description="YYYY-MM-DD: the banking day the entry takes effect, once submitted")
    trace_number: str | None = Field(description="15 digits: the ODFI routing's first 8 digits and a 7-digit sequence")
    return_code: str | None = Field(description="R01..R85 once returned")
    attempt: int = Field(ge=1, le=3)
    created_at: Timestamp
    submitted_at: Timestamp | None
    settled_at: Timestamp | None
    returned_at: Timestamp | None


class PaymentPage(Page[Payment]):
    pass


def amount_of(value: object) -> Decimal:
    """A stored amount (a DynamoDB number) as the Decimal it is."""
    return Decimal(str(value))


class AchFile(CamelModel):
    name: str
    direction: Literal["outbound", "inbound"]
    status: Literal["sent", "processed", "rejected"]
    created_at: Timestamp
    entries: int
    debit_total: Amount
    credit_total: Amount


class AchFilePage(Page[AchFile]):
    pass


AchExceptionKind = Literal[
    "unmatched_return",
    "unmatched_change",
    "late_return",
    "return_refused",
    "change_ignored",
    "rejected_file",
    "resent_file",
    "no_file_id_modifier",
]


class AchException(CamelModel):
    """Something the jobs could not settle alone, kept for operators (never an account number)."""

    exception_id: str
    kind: AchExceptionKind
    detail: str
    created_at: Timestamp
    file_name: str | None = None
    trace_number: str | None = None
    original_trace: str | None = None
    payment_id: str | None = None
    return_code: str | None = None
    change_code: str | None = None
    amount: Amount | None = None


class AchExceptionPage(Page[AchException]):
    pass
