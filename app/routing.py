"""JSON parsing for every route: exact decimals, no duplicate keys, JSON content type only."""

from __future__ import annotations

import email.message
import functools
import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.errors import BadRequest
from app.jsonio import parse_json
from app.responses import ExactJSONResponse


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


def _exact_response(result: Any, status_code: int, values: dict[str, Any]) -> Any:
    """A returned model becomes an ExactJSONResponse (amounts as exact JSON numbers).

    Headers or a status set on an injected `response: Response` parameter are carried over.
    """
    if not isinstance(result, BaseModel):
        return result
    response = ExactJSONResponse(result.model_dump(mode="python", by_alias=True), status_code=status_code)
    for value in values.values():
        if isinstance(value, Response):
            if value.status_code:
                response.status_code = value.status_code
            for name, header in value.headers.items():
                if name.lower() not in ("content-length", "content-type"):
                    response.headers[name] = header
    return response


def _exact_json_endpoint(endpoint: Callable[..., Any], status_code: int) -> Callable[..., Any]:
    """Wrap an endpoint so a returned model is rendered exactly (FastAPI reads the original signature)."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def exact_async(**values: Any) -> Any:
            return _exact_response(await endpoint(**values), status_code, values)

        return exact_async

    @functools.wraps(endpoint)
    def exact_sync(**values: Any) -> Any:
        return _exact_response(endpoint(**values), status_code, values)

    return exact_sync


class JsonRoute(APIRoute):
    """APIRoute whose JSON bodies parse to Decimal, must be sent as application/json, and whose
    returned models are rendered with exact decimal numbers (pydantic would write Decimal as a string)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _exact_json_endpoint(endpoint, kwargs.get("status_code") or 200), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_body = self.body_field is not None

        async def json_handler(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if expects_body and not is_json_content_type(request.headers.get("content-type")) and await request.body():
                raise BadRequest("Content-Type must be application/json")
            return await handler(request)

        return json_handler
