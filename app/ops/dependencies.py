"""Who may call an /ops route: a user whose item holds the operator role; everyone else gets 404.

Not 401 for a missing or invalid token, not 403 for a user without the role: the answer is the one a
path no route serves gets (404 NOT_FOUND "Not Found", rendered by app/errors.py), so nothing tells an
operator route from a missing one. The role is read on every request (one GetItem of the user item,
strongly consistent), never from the token, so a revocation counts at the next request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials

from app.auth.dependencies import bearer_scheme
from app.auth.tokens import Principal, verify_access_token
from app.dependencies import ClockDep, Db, SettingsDep
from app.errors import NotFound, Unauthenticated
from app.users import service as users_service

UNKNOWN_PATH = "Not Found"  # Starlette's detail for a path no route serves, which app/errors.py renders as the message


def hidden() -> NotFound:
    """The 404 of a path no route serves."""
    return NotFound(UNKNOWN_PATH)


def get_operator(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    settings: SettingsDep,
    clock: ClockDep,
    db: Db,
) -> Principal:
    """The caller, if their token is valid and their user item holds the operator role; 404 NOT_FOUND otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise hidden()
    try:
        caller = verify_access_token(settings=settings, token=credentials.credentials, now=clock.now())
    except Unauthenticated as exc:
        raise hidden() from exc
    if not users_service.is_operator(db=db, user_id=caller.user_id):
        raise hidden()
    return caller


CurrentOperator = Annotated[Principal, Depends(get_operator)]
