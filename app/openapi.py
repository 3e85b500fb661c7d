"""The published OpenAPI document: FastAPI's, completed with what an SPA's generated client needs.

- Error responses: each operation lists the statuses it can answer and, per status, the `code`
  values as an enum (ERROR_CODES below, plus the defaults every operation of its kind has).
- Response headers: X-Request-ID on every response; Retry-After on 429, 503 and a 409 that can be
  IDEMPOTENCY_IN_PROGRESS or CONFLICT (a write that lost to concurrent ones for WRITE_RETRY_SECONDS);
  Idempotent-Replayed where an Idempotency-Key is accepted.
- Every component schema carries an example, composed from its fields' examples.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app import idempotency
from app.schemas import Error

ERROR = "#/components/schemas/Error"
NOT_FOUND = ("NOT_FOUND",)
UNVERIFIED = ("EMAIL_NOT_VERIFIED",)  # app/auth/dependencies.py VerifiedUser, while EMAIL_VERIFICATION=required

# What each operation can answer beyond the defaults of _default_codes (keep in step with the services;
# schemathesis checks every documented response body, code included, against this).
ERROR_CODES: dict[str, dict[int, tuple[str, ...]]] = {
    "getHealth": {},
    "register": {409: ("EMAIL_TAKEN",)},
    "login": {401: ("INVALID_CREDENTIALS",), 429: ("RATE_LIMITED",)},
    "refreshTokens": {401: ("UNAUTHENTICATED",)},
    "logout": {},
    "verifyEmail": {422: ("INVALID_VERIFICATION_TOKEN",)},
    "resendVerification": {409: ("EMAIL_ALREADY_VERIFIED",), 429: ("RATE_LIMITED",)},
    "getProfile": {},
    "updateProfile": {},
    "getDashboard": {},
    "createLoan": {
        403: UNVERIFIED,
        409: ("IDEMPOTENCY_IN_PROGRESS",),
        422: ("CONTRIBUTIONS_MISMATCH", "DUPLICATE_LENDER", "SELF_INVITE", "IDEMPOTENCY_KEY_REUSED"),
        429: ("RATE_LIMITED",),  # the daily quota (app/loans/quota.py)
    },
    "listMyLoans": {},
    "getLoan": {404: NOT_FOUND},
    "cancelLoan": {403: ("FORBIDDEN",), 404: NOT_FOUND, 409: ("LOAN_NOT_PENDING",)},
    "closeFunding": {403: ("FORBIDDEN",), 404: NOT_FOUND, 409: ("LOAN_NOT_PENDING", "INSUFFICIENT_FUNDING")},
    "listLoanEvents": {404: NOT_FOUND},
    "listLoanPayments": {404: NOT_FOUND},
    "listPendingInvitations": {403: UNVERIFIED},
    "acceptInvitation": {403: UNVERIFIED, 404: NOT_FOUND, 409: ("ALREADY_RESPONDED", "LOAN_NOT_PENDING", "VERIFICATION_FAILED")},
    "declineInvitation": {403: UNVERIFIED, 404: NOT_FOUND, 409: ("ALREADY_RESPONDED", "LOAN_NOT_PENDING")},
    "listLenderLoans": {},
    "getSchedule": {404: NOT_FOUND, 409: ("LOAN_NOT_ACTIVE", "CONFLICT")},
    "getPayoff": {404: NOT_FOUND, 409: ("LOAN_NOT_ACTIVE", "CONFLICT")},
    "recordRepayment": {
        403: ("FORBIDDEN",),
        404: NOT_FOUND,
        409: ("LOAN_NOT_ACTIVE", "IDEMPOTENCY_IN_PROGRESS"),
        422: ("OVERPAYMENT", "IDEMPOTENCY_KEY_REUSED"),
    },
    "listRepayments": {404: NOT_FOUND, 409: ("LOAN_NOT_ACTIVE", "CONFLICT")},
    "getStatement": {404: NOT_FOUND, 409: ("LOAN_NOT_ACTIVE", "CONFLICT")},
    "createBankAccount": {403: UNVERIFIED, 409: ("DUPLICATE_BANK_ACCOUNT",)},
    "listBankAccounts": {},
    "verifyBankAccount": {403: UNVERIFIED, 404: NOT_FOUND, 409: ("VERIFICATION_FAILED",), 422: ("VERIFICATION_MISMATCH",)},
    "listAchFiles": {404: NOT_FOUND},
    "listAchPayments": {404: NOT_FOUND},
    "listAchExceptions": {404: NOT_FOUND},
    "deleteBankAccount": {403: UNVERIFIED, 404: NOT_FOUND, 409: ("BANK_ACCOUNT_IN_USE", "CONFLICT")},
}
IDEMPOTENT = ("createLoan", "recordRepayment")
# /ops routes answer anyone but an operator with the 404 of an unknown path, never 401 (app/ops/dependencies.py)
OPERATOR_ONLY = ("listAchFiles", "listAchPayments", "listAchExceptions")

STATUS_TEXT = {
    400: "Malformed JSON, duplicate keys, or a body that is not application/json",
    401: "Missing, invalid or expired credentials, or a valid token whose account no longer exists",
    403: "The caller may not do this",
    404: "No such resource, or not visible to the caller",
    409: "The request conflicts with the current state",
    413: "Request body over 64 KiB",
    422: "Invalid request (details name each field), or a business rule",
    429: "Too many attempts",
    500: "Internal error (no internals disclosed)",
    503: "A dependency is unavailable; retry later",
}
REQUEST_ID_HEADER = {
    "description": "The caller's X-Request-ID when it was sane (1..128 of A-Z a-z 0-9 . _ : -), else a generated UUID",
    "schema": {"type": "string", "examples": ["0b6f3c1e-2f0a-4c55-9a57-3d1f0f6b2a10"]},
}
RETRY_AFTER_HEADER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1, "examples": [1]}}
REPLAYED_HEADER_SPEC = {
    "description": "true when this response is the stored response of an earlier request with the same Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}


def _default_codes(operation: dict[str, Any], method: str) -> dict[int, tuple[str, ...]]:
    """What every operation of its kind can answer: malformed bodies, bad parameters, tokens, conflicts, outages."""
    codes: dict[int, tuple[str, ...]] = {500: ("INTERNAL_ERROR",), 503: ("SERVICE_UNAVAILABLE",)}
    if "requestBody" in operation:
        codes.update({400: ("BAD_REQUEST",), 413: ("PAYLOAD_TOO_LARGE",)})
    if "requestBody" in operation or operation.get("parameters"):
        codes[422] = ("VALIDATION_ERROR",)
    if operation.get("security") and operation["operationId"] not in OPERATOR_ONLY:
        codes[401] = ("UNAUTHENTICATED",)
    if method in ("post", "put", "patch"):
        codes[409] = ("CONFLICT",)  # a write that kept colliding with concurrent ones: safe to retry after Retry-After
    return codes


def _error_response(status: int, codes: tuple[str, ...]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "allOf": [{"$ref": "#/components/schemas/ErrorBody"}],
                "type": "object",
                "properties": {"code": {"type": "string", "enum": list(codes)}},
            }
        },
        "examples": [{"error": {"code": codes[0], "message": STATUS_TEXT[status], "details": [], "requestId": "0b6f3c1e"}}],
    }
    return {"description": f"{STATUS_TEXT[status]}: {', '.join(codes)}", "content": {"application/json": {"schema": schema}}}


def _errors(operation: dict[str, Any], method: str) -> None:
    """Replace FastAPI's generic error responses by the operation's own, each with its code enum."""
    responses = operation["responses"]
    for status in [key for key in responses if key.isdigit() and int(key) >= 400]:
        schema = responses[status].get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("$ref") != "#/components/schemas/HTTPValidationError" and "ErrorBody" not in str(schema):
            continue  # a response of its own shape (GET /health's 503)
        del responses[status]
    codes = _default_codes(operation, method)
    for status, extra in ERROR_CODES[operation["operationId"]].items():
        codes[status] = tuple(dict.fromkeys((*codes.get(status, ()), *extra)))
    for status in sorted(codes):
        responses.setdefault(str(status), _error_response(status, codes[status]))


def _headers(operation: dict[str, Any]) -> None:
    for status, response in operation["responses"].items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = REQUEST_ID_HEADER
        codes = str(response.get("content", {}))
        if status in ("429", "503") or (status == "409" and ("IDEMPOTENCY_IN_PROGRESS" in codes or "'CONFLICT'" in codes)):
            headers["Retry-After"] = RETRY_AFTER_HEADER
        if operation["operationId"] in IDEMPOTENT and status.startswith("2"):
            headers[idempotency.REPLAYED_HEADER] = REPLAYED_HEADER_SPEC


_SCALAR_EXAMPLES = {"string": "text", "integer": 1, "number": 100.0, "boolean": True, "null": None}
_FORMAT_EXAMPLES = {"date-time": "2026-11-22T09:30:00Z", "date": "2026-12-22", "email": "ada@example.com"}


def _example(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """An example of `schema`: its own, else one composed from its parts (refs, properties, items)."""
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(components[name], components, depth + 1) if depth < 8 else {}
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            options = [option for option in schema[combinator] if option.get("type") != "null"] or schema[combinator]
            return _example(options[0], components, depth + 1)
    if schema.get("type") == "object" or "properties" in schema:
        return {name: _example(prop, components, depth + 1) for name, prop in schema.get("properties", {}).items()}
    if schema.get("type") == "array":
        return [_example(schema.get("items", {}), components, depth + 1)]
    return _FORMAT_EXAMPLES.get(schema.get("format", ""), _SCALAR_EXAMPLES.get(schema.get("type", "string"), "text"))


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Errors, headers and examples added to FastAPI's document (see the module docstring)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)  # FastAPI's own 422 shapes: ours is the Error envelope
    error = Error.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    for name, schema in {**error.pop("$defs", {}), "Error": error}.items():
        components.setdefault(name, schema)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            _errors(operation, method)
            _headers(operation)
    for schema in components.values():
        if isinstance(schema, dict) and "examples" not in schema:
            schema["examples"] = [_example(schema, components)]
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes, servers=app.servers
            )
            app.openapi_schema = complete(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
