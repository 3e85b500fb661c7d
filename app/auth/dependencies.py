"""`CurrentUser`: every protected route depends on it; it verifies the bearer token, nothing else."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.tokens import Principal, verify_access_token
from app.dependencies import ClockDep, SettingsDep
from app.errors import Unauthenticated

bearer_scheme = HTTPBearer(auto_error=False, description="The accessToken from /auth/login or /auth/register")


def get_current_user(
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The verified caller; 401 UNAUTHENTICATED (with WWW-Authenticate: Bearer) otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    return verify_access_token(settings=settings, token=credentials.credentials, now=clock.now())


CurrentUser = Annotated[Principal, Depends(get_current_user)]
