"""Amounts leave the service as exact JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.jsonio import dumps_exact


def test_decimals_are_exact_json_numbers() -> None:
    text = dumps_exact({"amount": Decimal("1000.10"), "parts": [Decimal("600.05"), Decimal("400.05")], "big": Decimal("10000000.00")})
    assert text == '{"amount":1000.10,"parts":[600.05,400.05],"big":10000000.00}'
    assert json.loads(text, parse_float=Decimal)["amount"] == Decimal("1000.10")


def test_plain_values_match_the_standard_encoder() -> None:
    value = {"s": 'quote " and \\ and \u00e9 and \n', "i": 3, "t": True, "f": False, "n": None, "l": [1, "x"]}
    assert json.loads(dumps_exact(value)) == value


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("0.1"), object()])
def test_refuses_what_is_not_an_exact_amount(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        dumps_exact({"x": bad})


def test_times_are_iso_8601_utc_with_z() -> None:
    from datetime import UTC, date, datetime, timedelta, timezone

    moment = datetime(2026, 11, 22, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert dumps_exact({"at": moment, "day": date(2026, 11, 22)}) == '{"at":"2026-11-22T09:30:00Z","day":"2026-11-22"}'
    assert dumps_exact(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == '"2026-01-02T03:04:05Z"'
