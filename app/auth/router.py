"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout: parse, call the service, answer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.auth import service
from app.auth.dependencies import CurrentUser
from app.auth.schemas import AuthResponse, LoginRequest, LoginResponse, LogoutRequest, RefreshRequest, RegisterRequest, TokenPair
from app.dependencies import ClockDep, Db, SettingsDep
from app.errors import request_id_of
from app.routing import JsonRoute

router = APIRouter(prefix="/auth", tags=["auth"], route_class=JsonRoute)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _no_store(response: Response) -> None:
    response.headers.update(NO_STORE)


@router.post(
    "/register",
    operation_id="register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    summary="Create an account and sign in",
    description="Emails are trimmed, NFKC-normalised and case-folded (ASCII only afterwards). "
    "An email with loan invitations starts with the lender role.",
)
def register(body: RegisterRequest, request: Request, response: Response, db: Db, settings: SettingsDep, clock: ClockDep) -> AuthResponse:
    _no_store(response)
    return service.register(db=db, settings=settings, clock=clock, data=body, request_id=request_id_of(request))


@router.post(
    "/login",
    operation_id="login",
    response_model=LoginResponse,
    summary="Sign in with email and password",
    description=(
        "Wrong password and unknown email both answer 401 INVALID_CREDENTIALS. After 5 failures for one email "
        "within 15 minutes that email is locked for 15 minutes (429 RATE_LIMITED with Retry-After). "
        "Grants the lender role when the email has loan invitations."
    ),
)
def login(body: LoginRequest, request: Request, response: Response, db: Db, settings: SettingsDep, clock: ClockDep) -> LoginResponse:
    _no_store(response)
    return service.login(db=db, settings=settings, clock=clock, data=body, request_id=request_id_of(request))


@router.post(
    "/refresh",
    operation_id="refreshTokens",
    response_model=TokenPair,
    summary="Exchange a refresh token for new tokens (rotation)",
    description="The presented refresh token is spent. Presenting a spent token again revokes its whole session.",
)
def refresh(body: RefreshRequest, request: Request, response: Response, db: Db, settings: SettingsDep, clock: ClockDep) -> TokenPair:
    _no_store(response)
    return service.refresh(db=db, settings=settings, clock=clock, refresh_token=body.refresh_token, request_id=request_id_of(request))


@router.post(
    "/logout",
    operation_id="logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke the session of a refresh token",
    description=(
        "Revokes every refresh token of the given token's session. Answers 204 whatever the token "
        "(a token of another user is left untouched). Access tokens stay valid until they expire."
    ),
)
def logout(body: LogoutRequest, request: Request, caller: CurrentUser, db: Db, clock: ClockDep) -> Response:
    service.logout(db=db, clock=clock, caller=caller, refresh_token=body.refresh_token, request_id=request_id_of(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
