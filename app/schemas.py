"""Wire-contract building blocks shared by every domain: camelCase models, money, pages, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")

MAX_MONEY = Decimal("10000000")


class CamelModel(BaseModel):
    """Every JSON body: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class StrictInput(CamelModel):
    """A request body: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


# Dollars with at most two decimals, > 0, <= 10,000,000; booleans, NaN and Infinity refused.
Money = Annotated[
    Decimal,
    Field(gt=0, le=MAX_MONEY, decimal_places=2, allow_inf_nan=False, strict=False, json_schema_extra={"format": "decimal"}),
]


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
