"""/user/dashboard: the caller's borrower figures, and lender figures for lenders."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import TokenUser
from app.dashboard import service
from app.dashboard.schemas import Dashboard
from app.dependencies import ClockDep, Db
from app.routing import JsonRoute

router = APIRouter(
    prefix="/user",
    tags=["user"],
    route_class=JsonRoute,
)


@router.get("/dashboard", operation_id="getDashboard", response_model=Dashboard, summary="Borrower figures, and lender figures for lenders")
def get_dashboard(caller: TokenUser, db: Db, clock: ClockDep) -> Dashboard:
    return service.dashboard(db=db, clock=clock, user_id=caller.user_id, email=caller.email)
