"""Our attribute-value mapping agrees with boto3's TypeSerializer/TypeDeserializer (no network)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from app.db.attributes import deserialize, serialize

SAMPLES: list[Any] = [
    "x",
    "",
    "ünï 💸",
    True,
    False,
    None,
    0,
    -5,
    10**37,
    Decimal("1000.10"),
    Decimal("1E+3"),
    Decimal("0.30"),
    Decimal("-0.01"),
    {"a", "b"},
    {Decimal("1.5"), 2},
    [1, "a", None, [True]],
    {"m": {"n": [Decimal("2.50")], "s": {"x"}}},
    b"\x00\x01",
]


def _sorted_sets(value: dict[str, Any]) -> dict[str, Any]:
    return {kind: sorted(items) if kind in ("SS", "NS") else items for kind, items in value.items()}


def _stable_id(value: Any) -> str:
    """The value's repr with sets in sorted order (a set's repr follows the hash seed, and pytest-xdist's workers must agree)."""
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(repr(item) for item in value)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_stable_id(item)}" for key, item in value.items()) + "}"
    return repr(value)


@pytest.mark.parametrize("value", SAMPLES, ids=_stable_id)
def test_same_attribute_values_as_boto3(value: Any) -> None:
    assert _sorted_sets(serialize(value)) == _sorted_sets(TypeSerializer().serialize(value))
    assert deserialize(serialize(value)) == TypeDeserializer().deserialize(TypeSerializer().serialize(value))


@pytest.mark.parametrize(
    "value", [1.5, Decimal("NaN"), Decimal("Infinity"), Decimal("1" * 39), Decimal("1E+200"), set(), {1, "a"}, object()]
)
def test_values_dynamodb_cannot_hold_exactly_are_refused(value: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017 - TypeError or a decimal signal, like boto3
        serialize(value)


def test_numbers_come_back_as_decimal() -> None:
    assert deserialize({"N": "600.05"}) == Decimal("600.05") and isinstance(deserialize({"N": "1"}), Decimal)
