"""Wire-contract building blocks shared by every domain: camelCase models, money, pages, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel

T = TypeVar("T")

MAX_MONEY = Decimal("10000000")


class CamelModel(BaseModel):
    """Every JSON body: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class StrictInput(CamelModel):
    """A request body: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


def json_number_only(value: Any) -> Any:
    """Amounts arrive as JSON numbers (Decimal or int after our parser); strings and booleans are refused."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a JSON number")
    return value


# Dollars with at most two decimals, > 0, <= 10,000,000; strings, booleans, NaN and Infinity refused.
Money = Annotated[
    Decimal,
    BeforeValidator(json_number_only),
    Field(gt=0, le=MAX_MONEY, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 10000000,
            "multipleOf": 0.01,
            "description": "Dollars, at most 2 decimal places",
            "examples": [250.5],
        }
    ),
]

# An amount in a response: an exact JSON number (see app/responses.py), never a string.
Amount = Annotated[
    Decimal, WithJsonSchema({"type": "number", "multipleOf": 0.01, "description": "Dollars, exact to the cent", "examples": [250.5]})
]
# An annual interest rate in a response.
Percent = Annotated[
    Decimal,
    WithJsonSchema(
        {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.01, "description": "Annual percent", "examples": [7.25]}
    ),
]
# The contract's timestamp: ISO 8601 UTC with a Z, to the second (app/clock.py iso).
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-22T09:30:00Z"]})]


def whole_number(value: Any) -> Any:
    """An integer as JSON Schema counts one: 12 and 12.0 are both 12; 12.5, strings and booleans are refused."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a JSON integer")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def normalise_email(value: object) -> object:
    """Trimmed and lower-cased: the one spelling an email has in the table (before and after validation)."""
    return value.strip().lower() if isinstance(value, str) else value


def _lower(value: str) -> str:
    return value.lower()  # EmailStr may re-case the domain; keep the whole address lower-case


SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _any_case(word: str) -> str:
    return "".join(f"[{char.lower()}{char.upper()}]" for char in word)


# An email address as every body takes it (an account's or an invited lender's). The schema states
# what the validator (email-validator, without DNS) refuses beyond the email format: a domain in a
# top-level domain reserved for special use, and a quoted local part.
EmailAddress = Annotated[
    EmailStr,
    BeforeValidator(normalise_email),
    AfterValidator(_lower),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "not": {"pattern": '(^"|\\.(' + "|".join(_any_case(name) for name in SPECIAL_USE_DOMAINS) + ")\\.?$)"},
            "description": "Trimmed and lower-cased before use. Refused: a top-level domain reserved for special use "
            f"({', '.join('.' + name for name in SPECIAL_USE_DOMAINS)}) and quoted local parts",
            "examples": ["ada@example.com"],
        }
    ),
]
# At least one character that neither JSON Schema's \s nor Python's str.strip() counts as white space:
# text is trimmed before its length is checked, so the schema states that blank text is refused.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


def trimmed(max_length: int) -> StringConstraints:
    """Text trimmed of surrounding white space, then 1..max_length characters, not blank."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=NOT_BLANK)


PersonName = Annotated[str, trimmed(100)]
E164_PATTERN = r"^\+[1-9]\d{1,14}$"
Phone = Annotated[str, Field(pattern=E164_PATTERN, description="E.164, e.g. +14155550123")]
Role = Literal["borrower", "lender"]


class Page(CamelModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Opaque cursor for the next page; null on the last page")


Limit = Annotated[int, Field(ge=1, le=100, description="Page size (1..100)")]


class ErrorDetail(CamelModel):
    field: str
    location: str
    reason: str


class ErrorBody(CamelModel):
    code: str
    message: str
    details: list[ErrorDetail | dict[str, Any]]
    request_id: str


class Error(CamelModel):
    error: ErrorBody
