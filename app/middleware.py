"""The outermost layer of every request: request id, body limit, access log, last-resort 500."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.metrics import counting_requests
from app.errors import error_body

logger = logging.getLogger("app.access")

MAX_BODY_BYTES = 64 * 1024
REQUEST_ID_HEADER = "x-request-id"
DB_REQUESTS_HEADER = "x-db-requests"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# On every response: no MIME sniffing. On answers to authenticated requests: never cached.
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]
PRIVATE_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


class _BodyTooLarge(HTTPException):
    """Raised while reading the body; FastAPI re-raises HTTPExceptions, so the envelope handler renders it."""

    def __init__(self) -> None:
        super().__init__(413, f"Request body exceeds {MAX_BODY_BYTES} bytes")


def sane_request_id(value: str | None) -> str:
    """The caller's id when it is short and plain, else a fresh one (no header injection)."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


class RequestContextMiddleware:
    """Pure ASGI middleware, so it also wraps errors that escape Starlette's exception handlers."""

    def __init__(self, app: ASGIApp, *, expose_db_requests: bool = False) -> None:
        self.app = app
        self.expose_db_requests = expose_db_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        request_id = sane_request_id(headers.get(REQUEST_ID_HEADER))
        authenticated = "authorization" in headers
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        response: dict[str, Any] = {"status": None}

        with counting_requests() as db_counter:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    response["status"] = message["status"]
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
                    if authenticated:
                        extra += [header for header in PRIVATE_HEADERS if header[0] not in present]
                    if self.expose_db_requests:
                        extra.append((DB_REQUESTS_HEADER.encode(), str(db_counter.count).encode()))
                    message["headers"] = [*message.get("headers", []), *extra]
                await send(message)

            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > MAX_BODY_BYTES:
                        raise _BodyTooLarge()
                return message

            async def reply(status: int, code: str, message: str) -> None:
                if response["status"] is not None:
                    return
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": json.dumps(error_body(code, message, request_id)).encode()})

            try:
                declared = headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                    raise _BodyTooLarge()
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                await reply(413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {MAX_BODY_BYTES} bytes")
            except Exception:  # the last resort: log it with the request id, answer without internals
                logger.exception("unhandled error", extra={"request_id": request_id})
                await reply(500, "INTERNAL_ERROR", "Internal server error")
            finally:
                route = scope.get("route")
                logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "route": getattr(route, "path", None) or "unmatched",
                        "status": response["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "db_requests": db_counter.count,
                    },
                )
