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
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 10000000, "description": "Dollars, at most 2 decimal places"}),
]

# An amount in a response: an exact JSON number (see app/responses.py), never a string.
Amount = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "Dollars, exact to the cent"})]


def normalise_email(value: object) -> object:
    """Trimmed and lower-cased: the one spelling an email has in the table (before and after validation)."""
    return value.strip().lower() if isinstance(value, str) else value


def _lower(value: str) -> str:
    return value.lower()  # EmailStr may re-case the domain; keep the whole address lower-case


# An email address as every body takes it (an account's or an invited lender's).
EmailAddress = Annotated[EmailStr, BeforeValidator(normalise_email), AfterValidator(_lower)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
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


class ErrorResponse(CamelModel):
    error: ErrorBody
