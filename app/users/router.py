"""/user: the caller's profile and dashboard."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import CurrentUser
from app.auth.repository import profile_from_item
from app.auth.schemas import Profile
from app.dependencies import ClockDep, Db
from app.routing import JsonRoute
from app.schemas import ErrorResponse
from app.users import service
from app.users.schemas import Dashboard, ProfileUpdate

router = APIRouter(
    prefix="/user",
    tags=["user"],
    route_class=JsonRoute,
    responses={401: {"model": ErrorResponse, "description": "Missing, invalid or expired token"}},
)


@router.get("/profile", response_model=Profile, summary="The caller's profile")
def get_profile(caller: CurrentUser, db: Db) -> Profile:
    return profile_from_item(service.profile_item(db=db, user_id=caller.user_id))


@router.patch(
    "/profile",
    response_model=Profile,
    summary="Change firstName, lastName or phone (phone null removes it); other fields are refused",
)
def update_profile(update: ProfileUpdate, caller: CurrentUser, db: Db, clock: ClockDep) -> Profile:
    return profile_from_item(service.update_profile(db=db, clock=clock, user_id=caller.user_id, update=update))


@router.get("/dashboard", response_model=Dashboard, summary="Borrower figures, and lender figures for lenders")
def get_dashboard(caller: CurrentUser, db: Db) -> Dashboard:
    return service.dashboard(db=db, user_id=caller.user_id, email=caller.email)
