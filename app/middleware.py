"""The outermost layer of every request: request id, body limit, access log, last-resort 500; and CORS.

CORS has one source, a CorsPolicy: it configures CORSMiddleware (inside), and RequestContextMiddleware
(outside) applies it to the answers it writes itself (413, 500), which never pass through CORSMiddleware.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.metrics import counting_requests
from app.errors import envelope, error_body

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


@dataclass(frozen=True)
class CorsPolicy:
    """Which other origins' pages may call the API, with what, and which response headers they may read."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int = 600

    def reply_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """The CORS headers CORSMiddleware would add to an answer for a request from `origin`."""
        if origin is None:
            return []
        vary = (b"vary", b"Origin")
        if "*" not in self.allow_origins and origin not in self.allow_origins:
            return [vary]
        allowed = "*" if "*" in self.allow_origins else origin
        return [
            (b"access-control-allow-origin", allowed.encode("latin-1")),
            (b"access-control-expose-headers", ", ".join(self.expose_headers).encode("latin-1")),
            vary,
        ]


class EnvelopeCORSMiddleware(CORSMiddleware):
    """Starlette's CORSMiddleware, configured from a CorsPolicy; a refused preflight answers in the envelope.

    (Starlette answers it in text/plain; preflight_response only sees the request headers, and the
    envelope needs the request id that RequestContextMiddleware put in the scope.)
    """

    def __init__(self, app: ASGIApp, *, policy: CorsPolicy) -> None:
        super().__init__(
            app,
            allow_origins=policy.allow_origins,
            allow_methods=policy.allow_methods,
            allow_headers=policy.allow_headers,
            expose_headers=policy.expose_headers,
            allow_credentials=False,
            max_age=policy.max_age,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:  # a preflight, as CORSMiddleware tells it
                response = self.preflight_response(request_headers=headers)
                if response.status_code != 200:
                    response = self._refused(response, str(scope.get("state", {}).get("request_id", "")))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    @staticmethod
    def _refused(starlette_response: Response, request_id: str) -> Response:
        """Starlette's refusal ("Disallowed CORS origin, method"), same status and CORS headers, in the envelope."""
        headers = {name: value for name, value in starlette_response.headers.items() if name not in ("content-length", "content-type")}
        message = bytes(starlette_response.body).decode()
        return envelope(starlette_response.status_code, "BAD_REQUEST", message, request_id, headers=headers)


class RequestContextMiddleware:
    """Pure ASGI middleware, so it also wraps errors that escape Starlette's exception handlers."""

    def __init__(self, app: ASGIApp, *, cors: CorsPolicy, expose_db_requests: bool = False) -> None:
        self.app = app
        self.cors = cors
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
                        "headers": [(b"content-type", b"application/json"), *self.cors.reply_headers(headers.get("origin"))],
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
