"""JSON parsing for every route: exact decimals, no duplicate keys, JSON content type only."""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.errors import BadRequest


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
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), text, 0) from exc


def is_json_content_type(value: str | None) -> bool:
    if not value:
        return False
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = parse_json(body)
            except UnicodeDecodeError as exc:
                raise json.JSONDecodeError("body is not UTF-8", "", 0) from exc
        return self._json


class JsonRoute(APIRoute):
    """APIRoute whose JSON bodies parse to Decimal and must be sent as application/json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_body = self.body_field is not None

        async def json_handler(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if expects_body and not is_json_content_type(request.headers.get("content-type")) and await request.body():
                raise BadRequest("Content-Type must be application/json")
            return await handler(request)

        return json_handler
