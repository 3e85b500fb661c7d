"""Mounts every domain router with its prefix and tags."""

from __future__ import annotations

from fastapi import APIRouter

from app import health
from app.auth import router as auth_router
from app.dashboard import router as dashboard_router
from app.loans import lender_router
from app.loans import router as loans_router
from app.servicing import router as servicing_router
from app.users import router as users_router

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(users_router.router)
api_router.include_router(dashboard_router.router)
api_router.include_router(auth_router.router)
api_router.include_router(loans_router.router)
api_router.include_router(lender_router.router)
api_router.include_router(servicing_router.router)
