"""Every domain router with its prefix and tags, in the order the app includes them (and the OpenAPI lists them).

create_app includes each one in the app directly. FastAPI 0.16x keeps an included router as a branch
that every request walks (a match and a routes-version check at each level), so a router of routers
cost each request one more level than needed.
"""

from __future__ import annotations

from fastapi import APIRouter

from app import health
from app.auth import router as auth_router
from app.dashboard import router as dashboard_router
from app.loans import lender_router
from app.loans import router as loans_router
from app.ops import router as ops_router
from app.payments import router as payments_router
from app.servicing import router as servicing_router
from app.users import router as users_router

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    users_router.router,
    dashboard_router.router,
    auth_router.router,
    loans_router.router,
    lender_router.router,
    servicing_router.router,
    payments_router.router,
    ops_router.router,
)
