"""JSON parsing for every route: exact decimals, no duplicate keys, JSON content type only.

Also where a route's synchronous code runs. FastAPI runs every `def` endpoint and every `def`
dependency in a worker thread, one hop each, which was most of a cheap read's cost on Lambda
(measured in docs/performance.md). The dependencies that do no I/O (reading app state, verifying the
HS256 token) are `async def` where they are declared, so they run on the event loop. JsonRoute runs
the endpoint and the other sync dependencies (they call DynamoDB or KMS) in the worker thread pool
as before, except under the Lambda adapter (Mangum puts `aws.event` in the scope): an execution
environment serves one request at a time, so nothing waits behind a blocking call there, and they
run on the event loop too (no thread is started per invocation either).
"""

from __future__ import annotations

import email.message
import functools
import inspect
import json
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi import Request, Response
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

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


_effective_route_context: ContextVar[Any] | None = getattr(fastapi_routing, "_effective_route_context_var", None)
# True while a request that came through the Lambda adapter is being handled (set by JsonRoute's handler).
_one_request_at_a_time: ContextVar[bool] = ContextVar("one_request_at_a_time", default=False)


async def _run_sync(function: Callable[..., Any], values: dict[str, Any]) -> Any:
    """`function(**values)` on the event loop under the Lambda adapter, else in the worker thread pool."""
    if _one_request_at_a_time.get():
        return function(**values)
    return await run_in_threadpool(function, **values)


def _exact_json_endpoint(endpoint: Callable[..., Any], status_code: int) -> Callable[..., Any]:
    """Wrap an endpoint so a returned model is rendered exactly (FastAPI reads the original signature)."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def exact_async(**values: Any) -> Any:
            return _exact_response(await endpoint(**values), status_code, values)

        return exact_async

    @functools.wraps(endpoint)
    async def exact_sync(**values: Any) -> Any:
        return _exact_response(await _run_sync(endpoint, values), status_code, values)

    return exact_sync


_async_versions: dict[Callable[..., Any], Callable[..., Any]] = {}


def _async_version(function: Callable[..., Any]) -> Callable[..., Any]:
    """One coroutine function per sync dependency (one object, so FastAPI's per-request cache still solves it once)."""
    if function not in _async_versions:

        @functools.wraps(function)
        async def dependency(**values: Any) -> Any:
            return await _run_sync(function, values)

        _async_versions[function] = dependency
    return _async_versions[function]


def _plain_sync_function(call: Any) -> bool:
    return inspect.isfunction(call) and not (
        inspect.iscoroutinefunction(call) or inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)
    )


def _run_dependencies_here(dependant: Dependant) -> None:
    """Swap each plain `def` dependency of the tree for its coroutine version (its parameters were analysed already).

    FastAPI's dependency_overrides are keyed by the original functions, so they would no longer apply to
    these routes; nothing in the app or its tests overrides a dependency.
    """
    for sub in dependant.dependencies:
        if _plain_sync_function(sub.call):
            sub.call = _async_version(sub.call)  # type: ignore[arg-type]
        _run_dependencies_here(sub)


class JsonRoute(APIRoute):
    """APIRoute whose JSON bodies parse to Decimal, must be sent as application/json, and whose
    returned models are rendered with exact decimal numbers (pydantic would write Decimal as a string)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _exact_json_endpoint(endpoint, kwargs.get("status_code") or 200), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        _run_dependencies_here(self.dependant)
        # A route included into the app is served through its "effective context" (FastAPI 0.16x), a copy with
        # its own dependant tree (the router's dependencies merged in); APIRoute.get_route_handler builds from that one.
        context = _effective_route_context.get() if _effective_route_context is not None else None
        if context is not None and getattr(context, "original_route", None) is self:
            _run_dependencies_here(context.dependant)
        handler = super().get_route_handler()
        expects_body = self.body_field is not None

        async def json_handler(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if expects_body and not is_json_content_type(request.headers.get("content-type")) and await request.body():
                raise BadRequest("Content-Type must be application/json")
            token = _one_request_at_a_time.set("aws.event" in request.scope)
            try:
                return await handler(request)
            finally:
                _one_request_at_a_time.reset(token)

        return json_handler
