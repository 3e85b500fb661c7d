"""Domain errors, and the one place that renders every error as the contract's envelope.

The domain errors are plain exceptions: the data layer (app/retry.py, app/db), the jobs and the
stream handler raise them without importing FastAPI. FastAPI and Starlette are imported only by what
renders an answer (`envelope`, the handlers `install_error_handlers` registers), i.e. by the API.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from app.db.errors import ConditionFailed, DatabaseUnavailable, InvalidCursor, TransactionCancelled, TransactionConflict

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("app.errors")


class DomainError(Exception):
    """An expected failure with its HTTP status and contract code."""

    status_code = 400
    code = "BAD_REQUEST"
    message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or []
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(DomainError):
    status_code, code, message = 400, "BAD_REQUEST", "Malformed request"


class Unauthenticated(DomainError):
    status_code, code, message = 401, "UNAUTHENTICATED", "Missing, invalid or expired token"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class InvalidCredentials(DomainError):
    status_code, code, message = 401, "INVALID_CREDENTIALS", "Invalid email or password"


class Forbidden(DomainError):
    status_code, code, message = 403, "FORBIDDEN", "Not allowed"


class NotFound(DomainError):
    status_code, code, message = 404, "NOT_FOUND", "Resource not found"


class Conflict(DomainError):
    status_code, code, message = 409, "CONFLICT", "The request conflicts with the current state"


class LostRace(Conflict):
    """What we read changed before our conditional write committed: re-read and decide again (app/retry.py).

    When the retries run out it reaches the caller as a 409 CONFLICT they may retry.
    """

    message = "The loan is being changed by other requests right now; retry the request"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "1"})


class RuleViolation(DomainError):
    status_code, code, message = 422, "VALIDATION_ERROR", "The request breaks a business rule"


class RateLimited(DomainError):
    status_code, code, message = 429, "RATE_LIMITED", "Too many attempts; retry later"

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_seconds))})


class ServiceUnavailable(DomainError):
    status_code, code, message = 503, "SERVICE_UNAVAILABLE", "A dependency is unavailable; retry later"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "1"})


HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def error_body(code: str, message: str, request_id: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The contract's error body: {"error": {code, message, details, requestId}} (built here only)."""
    return {"error": {"code": code, "message": message, "details": details or [], "requestId": request_id}}


def envelope(
    status_code: int,
    code: str,
    message: str,
    request_id: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error response in the envelope."""
    from app.responses import ExactJSONResponse  # the API's own module: FastAPI is loaded by then

    return ExactJSONResponse(status_code=status_code, content=error_body(code, message, request_id, details), headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One {field, location, reason} per problem; field is the dotted path inside the location."""
    details = []
    for error in exc.errors():
        location, *path = [str(part) for part in error.get("loc", ())] or [""]
        details.append({"field": ".".join(path) or location, "location": location, "reason": str(error.get("msg", "invalid"))})
    return details


async def _domain_error(request: Request, raised: Exception) -> JSONResponse:
    exc = cast(DomainError, raised)  # registered for DomainError only
    return envelope(exc.status_code, exc.code, exc.message, request_id_of(request), exc.details, exc.headers)


async def _validation_error(request: Request, raised: Exception) -> JSONResponse:
    exc = cast("RequestValidationError", raised)  # registered for RequestValidationError only
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        return envelope(400, "BAD_REQUEST", "Malformed JSON body", request_id_of(request))
    return envelope(422, "VALIDATION_ERROR", "Request validation failed", request_id_of(request), _validation_details(exc))


def _methods_served_at(request: Request) -> list[str]:
    """Every method some route serves at this request's path (the router's 405 names only the first route's)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Match

    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):  # included routers flattened
        if route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


async def _http_error(request: Request, raised: Exception) -> JSONResponse:
    exc = cast("StarletteHTTPException", raised)  # registered for HTTPException only
    code = HTTP_CODES.get(exc.status_code, "ERROR")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405 and (served := _methods_served_at(request)):
        headers = {**(headers or {}), "Allow": ", ".join(served)}
    return envelope(exc.status_code, code, message, request_id_of(request), headers=headers)


async def _invalid_cursor(request: Request, exc: Exception) -> JSONResponse:
    details = [{"field": "cursor", "location": "query", "reason": "cursor is invalid or was tampered with"}]
    return envelope(422, "VALIDATION_ERROR", "Invalid cursor", request_id_of(request), details)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable", extra={"request_id": request_id_of(request), "error": type(exc).__name__})
    return envelope(
        503, "SERVICE_UNAVAILABLE", "The database is unavailable; retry later", request_id_of(request), headers={"Retry-After": "1"}
    )


async def _write_conflict(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("unmapped write conflict", extra={"request_id": request_id_of(request), "error": type(exc).__name__})
    return envelope(409, "CONFLICT", "The resource changed concurrently; retry the request", request_id_of(request))


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through the envelope."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(InvalidCursor, _invalid_cursor)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(ConditionFailed, _write_conflict)
    app.add_exception_handler(TransactionCancelled, _write_conflict)
    app.add_exception_handler(TransactionConflict, _write_conflict)
    # Anything else is caught by app.middleware.RequestContextMiddleware: logged, answered 500.
