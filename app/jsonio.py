"""Exact JSON in and out: numbers parse to Decimal (never float) and Decimals print as their exact digits."""

from __future__ import annotations

import json
from collections.abc import Callable
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


_string: Callable[[str], str] = json.encoder.encode_basestring  # the C encoder of ensure_ascii=False
_keys: dict[str, str] = {}  # '"name":' per dict key seen (field names: a small, fixed set)


def _key(name: Any) -> str:
    if type(name) is not str:  # an Enum key equals its value but prints as str() does: never cached
        return _string(str(name)) + ":"
    text = _keys.get(name)
    if text is None:
        text = _string(name) + ":"
        if len(_keys) < 4096:
            _keys[name] = text
    return text


def _write(value: Any, out: list[str]) -> None:
    """Append the JSON text of `value` to `out` (one list for the whole document: no nested joins)."""
    kind = type(value)
    if kind is str:
        out.append(_string(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        separator = "{"
        for name, item in value.items():
            out.append(separator)
            out.append(_key(name))
            _write(item, out)
            separator = ","
        out.append("}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        separator = "["
        for item in value:
            out.append(separator)
            _write(item, out)
            separator = ","
        out.append("]")
    elif kind is Decimal:
        if not value.is_finite():
            raise ValueError("non-finite amount")
        out.append(format(value, "f"))
    elif value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif kind is int:
        out.append(str(value))
    else:
        out.append(_other(value))


def _other(value: Any) -> str:
    """The rarer types, and subclasses of the common ones (an IntEnum, a str Enum...), as before."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return dumps_exact(Decimal(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime):
        return _string(iso(value))
    if isinstance(value, date):
        return _string(value.isoformat())
    if isinstance(value, dict):
        return dumps_exact(dict(value))
    if isinstance(value, list | tuple):
        return dumps_exact(list(value))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps_exact(value: Any) -> str:
    """JSON text for plain data; a Decimal becomes its exact digits, e.g. 600.05 (NaN/Infinity refused)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)
