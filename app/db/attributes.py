"""Python values <-> DynamoDB attribute values, without importing boto3 (cold start, see below).

Same mapping as boto3's TypeSerializer/TypeDeserializer for the types we store: str S, bool BOOL,
None NULL, int/Decimal N, bytes B, set of str SS, set of numbers NS, list L, dict M. Numbers come
back as Decimal. A float is refused: money must never pass through binary floating point.

Why not boto3.dynamodb.types: importing anything under boto3 runs boto3/__init__, which imports
s3transfer (about 140 ms of a Lambda cold start) for S3 helpers this service never uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB numbers: up to 38 significant digits, exponent -130..+125 (as boto3 checks them).
_NUMBER_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def _number(value: int | Decimal) -> str:
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeError("Infinity and NaN are not DynamoDB numbers")
    return str(_NUMBER_CONTEXT.create_decimal(value))


def serialize(value: Any) -> dict[str, Any]:
    """The attribute value of one Python value."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        members = list(value)
        if members and all(isinstance(member, str) for member in members):
            return {"SS": members}
        if members and all(isinstance(member, int | Decimal) and not isinstance(member, bool) for member in members):
            return {"NS": [_number(member) for member in members]}
        raise TypeError("a set must be non-empty and all strings or all numbers")
    if isinstance(value, Mapping):
        return {"M": {str(name): serialize(item) for name, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(item) for item in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB (floats are refused: use Decimal)")


def deserialize(attribute: Mapping[str, Any]) -> Any:
    """The Python value of one attribute value (numbers as Decimal)."""
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return Decimal(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {name: deserialize(item) for name, item in value.items()}
    if kind == "L":
        return [deserialize(item) for item in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {Decimal(item) for item in value}
    if kind == "B":
        return bytes(value)
    if kind == "BS":
        return {bytes(item) for item in value}
    raise TypeError(f"unknown DynamoDB attribute type {kind}")
