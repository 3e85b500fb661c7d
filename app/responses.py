"""JSON responses that write Decimal amounts as exact JSON numbers (never via float, never as strings)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import JSONResponse

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
        return _string(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(value, date):
        return _string(value.isoformat())
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(str(key))}:{dumps_exact(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(item) for item in value) + "]"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ExactJSONResponse(JSONResponse):
    """application/json rendered by dumps_exact."""

    def render(self, content: Any) -> bytes:
        return dumps_exact(content).encode("utf-8")
