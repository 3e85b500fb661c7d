"""`CurrentUser`: every protected route depends on it; it verifies the bearer token, nothing else.

`VerifiedUser`: the routes that act on money or invitations (create a loan, list/accept/decline invitations)
depend on it instead: the caller must also have verified their email while EMAIL_VERIFICATION=required.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.errors import EmailNotVerified
from app.auth.tokens import Principal, verify_access_token
from app.dependencies import Db, SettingsDep, get_clock, get_settings_dep
from app.errors import Unauthenticated
from app.users import service as users_service

bearer_scheme = HTTPBearer(auto_error=False, description="The accessToken from /auth/login or /auth/register")


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The verified caller; 401 UNAUTHENTICATED (with WWW-Authenticate: Bearer) otherwise.

    `async def` with no await on I/O: verifying an HS256 token is a few microseconds of CPU, so it runs
    on the event loop rather than in a worker thread. It reads the settings and the clock itself
    instead of declaring them as dependencies: every protected request resolves it, and each
    dependency node costs FastAPI more than the read.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    settings, clock = await get_settings_dep(request), await get_clock(request)
    return verify_access_token(settings=settings, token=credentials.credentials, now=clock.now())


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def get_verified_user(caller: CurrentUser, settings: SettingsDep, db: Db) -> Principal:
    """The caller, if their email is verified (or verification is off); 403 EMAIL_NOT_VERIFIED otherwise.

    A token issued after verification says so (claim "ev") and passes without a read: verification is
    permanent. Any other token costs one GetItem of the user item, so a user who has just verified
    passes at once with the token they hold (and a token that outlived its account gets 401).
    """
    if settings.email_verification == "off" or caller.email_verified:
        return caller
    if not users_service.is_email_verified(db=db, user_id=caller.user_id):
        raise EmailNotVerified()
    return caller


VerifiedUser = Annotated[Principal, Depends(get_verified_user)]
