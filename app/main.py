"""The app factory: middleware, routers, error handlers. `uvicorn app.main:app` serves it."""

from __future__ import annotations

from functools import cached_property

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from app import __version__
from app.api import ROUTERS
from app.auth.accounts import LiveTokens
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.db.dynamo import Dynamo
from app.errors import install_error_handlers
from app.idempotency import REPLAYED_HEADER
from app.loans import service as loans_service
from app.middleware import CorsPolicy, EnvelopeCORSMiddleware, RequestContextMiddleware
from app.observability import configure_logging
from app.openapi import install_openapi
from app.resources import make_db

DESCRIPTION = """
Private lending marketplace: borrowers create loans and invite lenders by email; lenders accept
with ACH details; a loan becomes active the moment it is fully funded.

Every error has the envelope `{"error": {"code", "message", "details", "requestId"}}`.
Every response carries `X-Request-ID`.
"""

# Swagger UI and ReDoc load their JS/CSS from here, out of the pinned fastapi-offline package (no CDN):
# /docs and /redoc work with no internet, and the Lambda zip carries the files with the package.
DOCS_ASSETS_URL = "/docs/assets"
DOCS_ASSETS_PACKAGE = ("fastapi_offline", "static")


class AppState:
    """Per-process resources, created on first use (boto3 clients are not made per request)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.live_tokens = LiveTokens()  # tokens whose account this process has seen exist (app/auth/accounts.py)

    @cached_property
    def db(self) -> Dynamo:
        return make_db(self.settings)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the ASGI app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Lending marketplace API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # FastAPI's pages load from a CDN: install_offline_docs serves /docs and /redoc
        redoc_url=None,
    )
    state = AppState(settings, clock or SystemClock())
    app.state.settings = settings
    app.state.clock = state.clock
    app.state.resources = state
    app.state.account_usage = loans_service.bank_account_in_use  # DELETE /bank-accounts asks the loans domain
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    install_offline_docs(app)
    cors = CorsPolicy(
        allow_origins=tuple(settings.cors_origin_list),
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
        allow_headers=("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"),
        # What the SPA's JavaScript may read: the request id, when to retry (429, 503), an idempotent replay.
        expose_headers=("X-Request-ID", "Retry-After", REPLAYED_HEADER),
    )
    app.add_middleware(EnvelopeCORSMiddleware, policy=cors)
    # Added last, so outermost: every answer gets X-Request-ID, preflights and its own 413/500 included.
    app.add_middleware(RequestContextMiddleware, cors=cors, expose_db_requests=settings.debug_db_metrics)
    return app


def install_offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc as FastAPI serves them, but with their assets served by the app itself."""
    app.mount(DOCS_ASSETS_URL, StaticFiles(packages=[DOCS_ASSETS_PACKAGE]), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    def root_of(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = root_of(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            oauth2_redirect_url=root + oauth2_redirect_url,
            swagger_ui_parameters={"validatorUrl": None},  # never ask validator.swagger.io
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = root_of(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    # Plain routes, like FastAPI's own docs pages: not API operations (not in the OpenAPI document).
    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route(oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)


app = create_app()
