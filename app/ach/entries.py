"""What a file is made of: the platform as originator, one payment as an entry, and the rules of their values.

Transaction codes 22/27 (checking credit/debit) and 32/37 (savings); WEB for debits (service class 225),
PPD for credits (220); amounts in whole cents of at most ten digits; trace numbers = the ODFI routing's
first 8 digits + a 7-digit sequence; File ID Modifiers A..Z then 0..9, one per file of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from app.ach.records import NachaError

Direction = Literal["debit", "credit"]
AccountType = Literal["checking", "savings"]

TRANSACTION_CODES: dict[tuple[AccountType, Direction], int] = {
    ("checking", "credit"): 22,
    ("checking", "debit"): 27,
    ("savings", "credit"): 32,
    ("savings", "debit"): 37,
}
SEC_CODES: dict[Direction, str] = {"debit": "WEB", "credit": "PPD"}
SERVICE_CLASSES: dict[Direction, int] = {"debit": 225, "credit": 220}
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TRACE_SEQUENCE_LIMIT = 10**7  # seven digits after the ODFI's eight
MAX_ENTRY_CENTS = 10**10 - 1  # the amount field's ten digits
WEB_PAYMENT_TYPE = "S"  # each WEB debit is authorised once (single entry), never a standing order


@dataclass(frozen=True)
class Originator:
    """The platform as its ODFI knows it (ACH_ODFI_ROUTING, ACH_COMPANY_ID, ACH_COMPANY_NAME)."""

    odfi_routing: str
    company_id: str
    company_name: str


@dataclass(frozen=True)
class OutboundEntry:
    """One payment as the file carries it; the only place an account number is in plaintext."""

    payment_id: str
    direction: Direction
    description: str
    amount: Decimal
    routing_number: str
    account_number: str
    account_type: AccountType
    holder_name: str

    def __repr__(self) -> str:  # never an account number in a log line or a traceback
        return f"OutboundEntry(payment_id={self.payment_id!r}, {self.direction} {self.amount})"


@dataclass(frozen=True)
class BuiltEntry:
    payment_id: str
    trace_number: str
    batch_number: int


@dataclass(frozen=True)
class BuiltFile:
    name: str
    content: bytes
    entries: tuple[BuiltEntry, ...]
    debit_total: Decimal
    credit_total: Decimal
    batch_count: int


def file_id_modifier(index: int) -> str:
    """The day's `index`-th file (from 0): A..Z, then 0..9; a 37th file that day is refused."""
    if not 0 <= index < len(FILE_ID_MODIFIERS):
        raise NachaError(f"no File ID Modifier is left for file {index + 1} of the day")
    return FILE_ID_MODIFIERS[index]


def file_name(created_at: datetime, modifier: str) -> str:
    return f"{created_at:%Y%m%d-%H%M%S}-{modifier}.ach"


def cents(amount: Decimal) -> int:
    """An entry amount in cents: positive, whole cents, at most ten digits."""
    value = amount * 100
    if value != value.to_integral_value() or not 0 < value <= MAX_ENTRY_CENTS:
        raise NachaError("an entry amount must be between 0.01 and 99,999,999.99 in whole cents")
    return int(value)


def trace_number(odfi_routing: str, sequence: int) -> str:
    if not 0 < sequence < TRACE_SEQUENCE_LIMIT:
        raise NachaError("the trace sequence has run past seven digits")
    return f"{odfi_routing[:8]}{sequence:07d}"
