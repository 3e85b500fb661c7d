"""The app factory: middleware, routers, error handlers. `uvicorn app.main:app` serves it."""

from __future__ import annotations

import hashlib
import hmac
from functools import cached_property

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.api import api_router
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.db.dynamo import Dynamo, make_client
from app.errors import install_error_handlers
from app.middleware import RequestContextMiddleware
from app.observability import configure_logging
from app.openapi import install_openapi
from app.schemas import ErrorResponse

DESCRIPTION = """
Private lending marketplace: borrowers create loans and invite lenders by email; lenders accept
with ACH details; a loan becomes active the moment it is fully funded.

Every error has the envelope `{"error": {"code", "message", "details", "requestId"}}`.
Every response carries `X-Request-ID`.
"""


class AppState:
    """Per-process resources, created on first use (boto3 clients are not made per request)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    @cached_property
    def db(self) -> Dynamo:
        client = make_client(region=self.settings.aws_region, endpoint_url=self.settings.dynamodb_endpoint_url)
        cursor_secret = hmac.new(self.settings.jwt_secret.encode(), b"pagination-cursor", hashlib.sha256).digest()
        return Dynamo(client, self.settings.table_name, cursor_secret)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the ASGI app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Lending marketplace API",
        version=__version__,
        description=DESCRIPTION,
        responses={
            422: {"model": ErrorResponse, "description": "Validation error or business rule"},
            500: {"model": ErrorResponse, "description": "Internal error (no internals disclosed)"},
        },
    )
    state = AppState(settings, clock or SystemClock())
    app.state.settings = settings
    app.state.clock = state.clock
    app.state.resources = state
    install_error_handlers(app)
    app.include_router(api_router)
    install_openapi(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
        allow_credentials=False,
        max_age=600,
    )
    app.add_middleware(RequestContextMiddleware, expose_db_requests=settings.debug_db_metrics)
    return app


app = create_app()
