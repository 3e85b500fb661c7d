"""Mounts every domain router with its prefix and tags."""

from __future__ import annotations

from fastapi import APIRouter

from app import health

api_router = APIRouter()
api_router.include_router(health.router)
