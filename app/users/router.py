"""/user/profile: the caller's profile (the dashboard beside it is app/dashboard/router.py)."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import TokenUser
from app.dependencies import ClockDep, Db
from app.routing import JsonRoute
from app.users import service
from app.users.schemas import Profile, ProfileUpdate

router = APIRouter(
    prefix="/user",
    tags=["user"],
    route_class=JsonRoute,
)


@router.get("/profile", operation_id="getProfile", response_model=Profile, summary="The caller's profile")
def get_profile(caller: TokenUser, db: Db) -> Profile:
    return service.get_profile(db=db, user_id=caller.user_id)


@router.patch(
    "/profile",
    operation_id="updateProfile",
    response_model=Profile,
    summary="Change firstName, lastName, phone or emailNotifications (phone null removes it); other fields are refused",
)
def update_profile(update: ProfileUpdate, caller: TokenUser, db: Db, clock: ClockDep) -> Profile:
    return service.update_profile(db=db, clock=clock, user_id=caller.user_id, update=update)
