"""Who calls a protected route, from its bearer token.

`TokenUser`: the verified token, nothing else (no read): for the routes that read the caller's user item
anyway, whose read answers 401 when the account is gone (profile, dashboard, email verification).

`CurrentUser`: every other protected route depends on it: the token, and its account proved to exist
once per token and process (app/auth/accounts.py), so a token that outlived its account is 401 there too.

`VerifiedUser`: the routes that act on money or invitations (create a loan, list/accept/decline invitations)
depend on it instead: the caller must also have verified their email while EMAIL_VERIFICATION=required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.accounts import AccountProof, LiveTokens
from app.auth.errors import EmailNotVerified
from app.auth.tokens import Principal, verify_access_token
from app.dependencies import Db, SettingsDep, get_clock, get_settings_dep
from app.errors import Unauthenticated
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo

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


TokenUser = Annotated[Principal, Depends(get_current_user)]


def _tokens(request: Request) -> LiveTokens:
    tokens: LiveTokens = request.app.state.resources.live_tokens
    return tokens


def _live(request: Request, caller: Principal, db: Dynamo) -> Principal:
    """`caller`, once this process has seen their account exist: one GetItem at a token's first use here, then none."""
    tokens = _tokens(request)
    if not tokens.seen(caller.user_id, caller.token_id):
        users_service.existing_user(db=db, user_id=caller.user_id)  # 401 when the account is gone
        tokens.remember(caller.user_id, caller.token_id)
    return caller


def get_live_user(request: Request, caller: TokenUser, db: Db) -> Principal:
    """The caller of a valid token whose account exists (401 "The account no longer exists" otherwise)."""
    return _live(request, caller, db)


CurrentUser = Annotated[Principal, Depends(get_live_user)]


def get_account_proof(request: Request, caller: TokenUser, db: Db) -> AccountProof:
    """For the lists whose own read can include the caller's user item (app/auth/accounts.py)."""
    return AccountProof(_tokens(request), caller.user_id, caller.token_id, check=lambda: _live(request, caller, db))


Account = Annotated[AccountProof, Depends(get_account_proof)]


def get_verified_user(request: Request, caller: TokenUser, settings: SettingsDep, db: Db) -> Principal:
    """The caller, if their email is verified (or verification is off); 403 EMAIL_NOT_VERIFIED otherwise.

    A token issued after verification says so (claim "ev") and passes without a read of its own:
    verification is permanent (the account's existence is proved as for CurrentUser). Any other token
    costs one GetItem of the user item, which proves the account too, so a user who has just verified
    passes at once with the token they hold (and a token that outlived its account gets 401).
    """
    if settings.email_verification == "off" or caller.email_verified:
        return _live(request, caller, db)
    user = users_service.existing_user(db=db, user_id=caller.user_id)
    _tokens(request).remember(caller.user_id, caller.token_id)
    if not user.email_verified:
        raise EmailNotVerified()
    return caller


VerifiedUser = Annotated[Principal, Depends(get_verified_user)]
