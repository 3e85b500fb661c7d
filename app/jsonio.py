"""Exact JSON in and out: numbers parse to Decimal (never float) and Decimals print as their exact digits."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.clock import iso


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate key {name!r}")
        result[name] = value
    return result


def parse_json(body: bytes) -> Any:
    """JSON with numbers as Decimal (never float), NaN/Infinity as Decimal (refused later), no duplicate keys."""
    text = body.decode("utf-8")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_reject_duplicates)
    except RecursionError as exc:  # absurdly deep nesting: malformed for us, never a 500
        raise json.JSONDecodeError("JSON nested too deeply", text[:0], 0) from exc
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), text, 0) from exc


_string = json.JSONEncoder(ensure_ascii=False).encode


def dumps_exact(value: Any) -> str:
    """JSON text for plain data; a Decimal becomes its exact digits, e.g. 600.05 (NaN/Infinity refused)."""
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite amount")
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime):
        return _string(iso(value))
    if isinstance(value, date):
        return _string(value.isoformat())
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(str(key))}:{dumps_exact(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(item) for item in value) + "]"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
