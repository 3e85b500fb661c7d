"""Wire-contract building blocks shared by every domain: camelCase models, money, pages, errors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

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


LOOKALIKE_EMAIL = "email must use ASCII characters after normalisation (NFKC); look-alike characters are refused"
# What an email may hold once normalised: printable ASCII (email-validator then enforces the RFC 5322 atext of the
# local part and the letter-digit-hyphen labels of the domain, without DNS).
EMAIL_ASCII = r"^[\x21-\x7e]+$"


def normalise_email(value: object) -> object:
    """The one spelling an email has in the table: trimmed, NFKC-normalised and case-folded, then ASCII only.

    NFKC maps compatibility forms to their plain characters (fullwidth "ａｄａ" is "ada"), so they name the same
    account; what is still not ASCII afterwards (Cyrillic "а", accented letters, internationalised domains) could
    pass for another address, and is refused.
    """
    if not isinstance(value, str):
        return value
    folded = unicodedata.normalize("NFKC", value.strip()).casefold()
    if not folded.isascii():
        raise ValueError(LOOKALIKE_EMAIL)
    return folded


def _lower(value: str) -> str:
    return value.lower()  # EmailStr may re-case the domain; keep the whole address lower-case


def email_spellings(address: str) -> list[str]:
    """Where a login may find its account: the normal form (when the address has one), then the spelling accounts
    registered before case-folding and the ASCII rule were stored under (trimmed, lower-cased), when it differs."""
    legacy = unicodedata.normalize("NFKC", address.strip()).lower()
    try:
        normal = normalise_email(address)
    except ValueError:
        return [legacy]
    return [str(normal)] if normal == legacy else [str(normal), legacy]


SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _any_case(word: str) -> str:
    return "".join(f"[{char.lower()}{char.upper()}]" for char in word)


# An email address as every body takes it (an account's or an invited lender's). The schema states
# what the validator (email-validator, without DNS) refuses beyond the email format: a domain in a
# top-level domain reserved for special use, and a quoted local part.
RESERVED_OR_QUOTED = {"pattern": '(^"|\\.(' + "|".join(_any_case(name) for name in SPECIAL_USE_DOMAINS) + ")\\.?$)"}
EmailAddress = Annotated[
    EmailStr,
    BeforeValidator(normalise_email),
    AfterValidator(_lower),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "pattern": EMAIL_ASCII,
            "not": RESERVED_OR_QUOTED,
            "description": "Trimmed, normalised with Unicode NFKC and case-folded before use. After NFKC an email must be "
            "ASCII (fullwidth forms become their ASCII letters; look-alike characters such as Cyrillic letters are refused). "
            "Refused: a top-level domain reserved for special use "
            f"({', '.join('.' + name for name in SPECIAL_USE_DOMAINS)}) and quoted local parts",
            "examples": ["ada@example.com"],
        }
    ),
]
# The address a login takes: trimmed, NFKC and lower-cased only (no ASCII rule), because an account registered
# before that rule keeps its spelling; login looks it up with email_spellings, the normal form first.
LoginEmail = Annotated[
    EmailStr,
    BeforeValidator(lambda value: unicodedata.normalize("NFKC", value.strip()) if isinstance(value, str) else value),
    AfterValidator(_lower),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "not": RESERVED_OR_QUOTED,
            "description": "As registered (compared after the same normalisation)",
            "examples": ["ada@example.com"],
        }
    ),
]
# At least one character that neither JSON Schema's \s nor Python's str.strip() counts as white space:
# text is trimmed before its length is checked, so the schema states that blank text is refused.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"
# C0 controls, DEL and C1 controls: refused inside free text once it is trimmed (the schema's `not` pattern;
# the same text is a Python and an ECMA-262 regular expression).
CONTROL_CHARACTERS = r"[\u0000-\u001f\u007f-\u009f]"
CONTROL_MESSAGE = "must not contain control characters (U+0000-U+001F, U+007F-U+009F)"
_CONTROL = re.compile(CONTROL_CHARACTERS)


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


@dataclass(frozen=True)
class _NoControlCharacters:
    """Refuses control characters (after the trimming before it) and states it in the JSON schema as a `not` pattern."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_no_control_characters, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["not"] = {"pattern": CONTROL_CHARACTERS}
        return json_schema


@dataclass(frozen=True)
class TrimmedText(StringConstraints):
    """StringConstraints, then the control-character refusal (so it sees the trimmed text)."""

    def __iter__(self) -> Iterator[Any]:
        yield from super().__iter__()
        yield _NoControlCharacters()


def trimmed(max_length: int) -> TrimmedText:
    """Text trimmed of surrounding white space, then 1..max_length characters, not blank, no control character inside."""
    return TrimmedText(strip_whitespace=True, min_length=1, max_length=max_length, pattern=NOT_BLANK)


PersonName = Annotated[str, trimmed(100)]
E164_PATTERN = r"^\+[1-9]\d{1,14}$"
Phone = Annotated[str, Field(pattern=E164_PATTERN, description="E.164, e.g. +14155550123")]
Role = Literal["borrower", "lender", "operator"]  # operator: granted by `python -m app.admin` only, never by the API


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
